package limiter

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIPOption configures ClientIP.
type ClientIPOption func(*clientIPConfig)

type clientIPConfig struct {
	trusted    []netip.Prefix
	headerName string
	header     string // headerName, canonical
	forwarded  bool   // header is Forwarded (RFC 7239)
	bits4      int
	bits6      int
}

// TrustedProxies names the networks of the reverse proxies in front of the
// server, whose forwarding header (X-Forwarded-For unless ProxyHeader says
// otherwise) ClientIP believes. Without it ClientIP uses only the address of
// the connection's peer, and no header a client sends can choose its key.
//
// With it, when the peer is in one of the networks, ClientIP walks the
// header's addresses from the right (the most recent hop) and takes the
// first one outside all of them: the address that the outermost trusted
// proxy saw connect, which the client cannot forge. If an entry cannot be
// parsed ("unknown", an obfuscated Forwarded node) it stops and takes the
// last trusted address instead; if every entry is trusted, it takes the
// left-most. TrustedProxies panics if a prefix is not valid.
func TrustedProxies(prefixes ...netip.Prefix) ClientIPOption {
	ps := make([]netip.Prefix, len(prefixes))
	for i, p := range prefixes {
		if !p.IsValid() {
			panic(fmt.Sprintf("limiter: TrustedProxies(%v): prefix %d is not valid", prefixes, i))
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96) // addresses are unmapped too
		}
		ps[i] = p.Masked()
	}
	return func(c *clientIPConfig) { c.trusted = append(c.trusted, ps...) }
}

// ProxyHeader sets the request header that trusted proxies append the
// client's address to (default X-Forwarded-For). "Forwarded" is parsed as
// RFC 7239 defines it (its for= parameters); any other header, such as
// X-Real-IP, as a comma-separated list of addresses, with or without ports.
// Use the one header your proxies write: one they pass through untouched is
// the client's to fill. ProxyHeader panics if name is empty.
func ProxyHeader(name string) ClientIPOption {
	if name == "" {
		panic(`limiter: ProxyHeader(""): name must not be empty`)
	}
	return func(c *clientIPConfig) { c.headerName = name }
}

// IPv6Prefix groups IPv6 clients by their first bits bits (default 64, the
// usual size of one subscriber's network, in which one client can pick any
// of 2^64 addresses). IPv6Prefix panics unless 1 <= bits <= 128.
func IPv6Prefix(bits int) ClientIPOption {
	if bits < 1 || bits > 128 {
		panic(fmt.Sprintf("limiter: IPv6Prefix(%d): bits must be between 1 and 128", bits))
	}
	return func(c *clientIPConfig) { c.bits6 = bits }
}

// IPv4Prefix groups IPv4 clients by their first bits bits (default 32: one
// key per address). IPv4Prefix panics unless 1 <= bits <= 32.
func IPv4Prefix(bits int) ClientIPOption {
	if bits < 1 || bits > 32 {
		panic(fmt.Sprintf("limiter: IPv4Prefix(%d): bits must be between 1 and 32", bits))
	}
	return func(c *clientIPConfig) { c.bits4 = bits }
}

// ClientIP returns a key function for PerKey that identifies a request's
// client by its IP address: the address of the connection's peer
// (Request.RemoteAddr), or, behind TrustedProxies, the address they forward.
// IPv4-mapped IPv6 addresses count as IPv4, zones are dropped, and the
// address is masked to IPv4Prefix and IPv6Prefix bits (by default an IPv6
// client's /64 is one key), so the key is the network's first address. A
// request whose address cannot be parsed (RemoteAddr not set by net/http, a
// Unix socket) gets the zero netip.Addr, one key shared by all such
// requests.
//
// The key function does not allocate, and is safe for concurrent use. A key
// for user IDs or API keys is any func(*http.Request) K, for example one
// reading an authenticated user from the request's context.
func ClientIP(opts ...ClientIPOption) func(*http.Request) netip.Addr {
	c := clientIPConfig{bits4: 32, bits6: 64, headerName: "X-Forwarded-For"}
	for _, o := range opts {
		o(&c)
	}
	c.header = http.CanonicalHeaderKey(c.headerName)
	c.forwarded = c.header == "Forwarded"
	return c.key
}

func (c *clientIPConfig) key(r *http.Request) netip.Addr {
	addr, ok := parseHost(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if len(c.trusted) > 0 && c.isTrusted(addr) {
		addr = c.forwardedFor(r.Header[c.header], addr)
	}
	return c.mask(addr)
}

// mask keeps the configured prefix of addr.
func (c *clientIPConfig) mask(addr netip.Addr) netip.Addr {
	bits := c.bits6
	if addr.Is4() {
		bits = c.bits4
	}
	if bits == addr.BitLen() {
		return addr
	}
	p, _ := addr.Prefix(bits) // bits is within range for addr
	return p.Addr()
}

func (c *clientIPConfig) isTrusted(addr netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// forwardedFor walks the header's entries right to left, from a trusted
// peer at addr, and returns the first untrusted address (see
// TrustedProxies).
func (c *clientIPConfig) forwardedFor(lines []string, addr netip.Addr) netip.Addr {
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for line != "" {
			elem := line
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				elem, line = line[j+1:], line[:j]
			} else {
				line = ""
			}
			elem = trimOWS(elem)
			if elem == "" {
				continue // empty list elements are allowed, and mean nothing
			}
			if c.forwarded {
				elem = forwardedNode(elem)
			}
			ip, ok := parseHost(elem)
			if !ok {
				return addr
			}
			addr = ip
			if !c.isTrusted(ip) {
				return ip
			}
		}
	}
	return addr
}

// forwardedNode returns the value of a Forwarded element's for= parameter,
// unquoted, or "" if it has none.
func forwardedNode(elem string) string {
	for elem != "" {
		pair := elem
		if j := strings.IndexByte(elem, ';'); j >= 0 {
			pair, elem = elem[:j], elem[j+1:]
		} else {
			elem = ""
		}
		pair = trimOWS(pair)
		if len(pair) < 4 || pair[3] != '=' || !strings.EqualFold(pair[:3], "for") {
			continue
		}
		v := pair[4:]
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return ""
}

// parseHost parses an IP address with an optional port: "192.0.2.1",
// "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:80". It
// returns the address unmapped and without zone. It does not allocate
// unless s is not an address.
func parseHost(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	host := s
	if s[0] == '[' {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return netip.Addr{}, false
		}
		host = s[1:j]
	} else if j := strings.IndexByte(s, ':'); j >= 0 && strings.IndexByte(s[j+1:], ':') < 0 {
		host = s[:j] // one colon: IPv4 with a port
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}

// trimOWS trims the spaces and tabs HTTP allows around list elements.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
