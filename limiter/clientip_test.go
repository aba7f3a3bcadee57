package limiter_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/weftgo/weft/limiter"
)

func request(remote string, header ...string) *http.Request {
	r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func TestClientIPRemoteAddr(t *testing.T) {
	key := limiter.ClientIP()
	tests := []struct{ remote, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::"}, // grouped by /64
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},           // IPv4-mapped: IPv4
		{"[fe80::1%eth0]:80", "fe80::"},                  // zone dropped
		{"2001:db8::1", "2001:db8::"},
	}
	for _, tt := range tests {
		assert.Equal(t, netip.MustParseAddr(tt.want), key(request(tt.remote)), tt.remote)
	}
	for _, bad := range []string{"", "@", "not-an-ip:80", "[::1", "1.2.3.4.5:6"} {
		assert.Equal(t, netip.Addr{}, key(request(bad)), "%q: the shared zero key", bad)
	}
}

func TestClientIPPrefixes(t *testing.T) {
	key := limiter.ClientIP(limiter.IPv4Prefix(24), limiter.IPv6Prefix(48))
	assert.Equal(t, netip.MustParseAddr("192.0.2.0"), key(request("192.0.2.77:1")))
	assert.Equal(t, netip.MustParseAddr("2001:db8:1::"), key(request("[2001:db8:1:2::9]:1")))
	key = limiter.ClientIP(limiter.IPv6Prefix(128))
	assert.Equal(t, netip.MustParseAddr("2001:db8:1:2::9"), key(request("[2001:db8:1:2::9]:1")))
}

func TestClientIPIgnoresHeadersWithoutTrust(t *testing.T) {
	key := limiter.ClientIP()
	r := request("198.51.100.4:5", "X-Forwarded-For", "203.0.113.9", "Forwarded", "for=203.0.113.9")
	assert.Equal(t, netip.MustParseAddr("198.51.100.4"), key(r), "a client must not pick its own key")
}

func TestClientIPTrustedProxies(t *testing.T) {
	key := limiter.ClientIP(limiter.TrustedProxies(
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")))
	const proxy = "10.0.0.1:4000"
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no header", proxy, nil, "10.0.0.1"},
		{"one hop", proxy, []string{"203.0.113.9"}, "203.0.113.9"},
		{"two proxies", proxy, []string{"203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"spoofed left part", proxy, []string{"1.1.1.1, 6.6.6.6, 203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"several lines", proxy, []string{"1.1.1.1", "203.0.113.9", "10.1.2.3"}, "203.0.113.9"},
		{"empty elements", proxy, []string{"203.0.113.9,, 10.1.2.3 ,"}, "203.0.113.9"},
		{"ports and brackets", proxy, []string{"[2001:db8:5::1]:99, 10.1.2.3:80"}, "2001:db8:5::"},
		{"IPv6 proxy", "[2001:db8:ffff::1]:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"mapped entry", proxy, []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"all trusted: left-most", proxy, []string{"10.9.9.9, 10.1.2.3"}, "10.9.9.9"},
		{"garbage: last trusted", proxy, []string{"203.0.113.9, unknown, 10.1.2.3"}, "10.1.2.3"},
		{"garbage at the peer", proxy, []string{"bogus"}, "10.0.0.1"},
		{"untrusted peer", "198.51.100.4:5", []string{"203.0.113.9"}, "198.51.100.4"},
	}
	for _, tt := range tests {
		r := request(tt.remote)
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		assert.Equal(t, netip.MustParseAddr(tt.want), key(r), tt.name)
	}
}

func TestClientIPForwarded(t *testing.T) {
	key := limiter.ClientIP(limiter.TrustedProxies(netip.MustParsePrefix("10.0.0.0/8")),
		limiter.ProxyHeader("forwarded"))
	tests := []struct{ name, header, want string }{
		{"RFC 7239 example", `for=192.0.2.60;proto=http;by=203.0.113.43`, "192.0.2.60"},
		{"quoted IPv6 with port", `for=192.0.2.43, For="[2001:db8:cafe::17]:4711"`, "2001:db8:cafe::"},
		{"right-most untrusted", `for=6.6.6.6, for=192.0.2.60;proto=https, for=10.0.0.7`, "192.0.2.60"},
		{"unknown node", `for=192.0.2.60, for=unknown, for=10.0.0.7`, "10.0.0.7"},
		{"no for", `proto=https;by=10.0.0.9`, "10.0.0.1"},
	}
	for _, tt := range tests {
		r := request("10.0.0.1:1", "Forwarded", tt.header, "X-Forwarded-For", "1.1.1.1")
		assert.Equal(t, netip.MustParseAddr(tt.want), key(r), tt.name)
	}
}

func TestClientIPProxyHeader(t *testing.T) {
	key := limiter.ClientIP(limiter.TrustedProxies(netip.MustParsePrefix("127.0.0.0/8")),
		limiter.ProxyHeader("X-Real-IP"))
	r := request("127.0.0.1:1", "X-Real-IP", "203.0.113.9", "X-Forwarded-For", "1.1.1.1")
	assert.Equal(t, netip.MustParseAddr("203.0.113.9"), key(r))
}

func TestClientIPNoAllocs(t *testing.T) {
	key := limiter.ClientIP(limiter.TrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
	r := request("10.0.0.1:4000", "X-Forwarded-For", "1.1.1.1, [2001:db8::1]:5, 10.1.2.3")
	direct := request("[2001:db8::1]:5")
	var sink netip.Addr
	assert.Zero(t, testing.AllocsPerRun(100, func() { sink = key(r) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { sink = key(direct) }))
	_ = sink
}

func TestClientIPMisuse(t *testing.T) {
	assert.PanicsWithValue(t, "limiter: IPv6Prefix(0): bits must be between 1 and 128", func() { limiter.IPv6Prefix(0) })
	assert.PanicsWithValue(t, "limiter: IPv4Prefix(33): bits must be between 1 and 32", func() { limiter.IPv4Prefix(33) })
	assert.PanicsWithValue(t, `limiter: ProxyHeader(""): name must not be empty`, func() { limiter.ProxyHeader("") })
	assert.PanicsWithValue(t, "limiter: TrustedProxies([invalid Prefix]): prefix 0 is not valid",
		func() { limiter.TrustedProxies(netip.Prefix{}) })
}

// FuzzClientIP checks ClientIP on arbitrary forwarding headers: it never
// panics, behind an untrusted peer the key is the peer whatever the
// headers say, and behind a trusted one the key is a valid address.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:1", "203.0.113.9, 10.1.2.3", "")
	f.Add("10.0.0.1:1", "1.1.1.1, 203.0.113.9", "for=6.6.6.6, for=\"[2001:db8::1]:80\"")
	f.Add("198.51.100.4:5", "203.0.113.9", "for=203.0.113.9")
	trusted := netip.MustParsePrefix("10.0.0.0/8")
	xff := limiter.ClientIP(limiter.TrustedProxies(trusted), limiter.IPv6Prefix(128))
	fwd := limiter.ClientIP(limiter.TrustedProxies(trusted), limiter.IPv6Prefix(128), limiter.ProxyHeader("Forwarded"))
	direct := limiter.ClientIP(limiter.IPv6Prefix(128))
	f.Fuzz(func(t *testing.T, remote, xffValue, fwdValue string) {
		r := request(remote, "X-Forwarded-For", xffValue, "Forwarded", fwdValue)
		peer := direct(r)
		for _, key := range []func(*http.Request) netip.Addr{xff, fwd} {
			got := key(r)
			switch {
			case !peer.IsValid() || !trusted.Contains(peer):
				if got != peer {
					t.Fatalf("untrusted peer %q: key %v, want the peer %v", remote, got, peer)
				}
			case !got.IsValid() || got.Zone() != "":
				t.Fatalf("trusted peer: key %v from %q / %q", got, xffValue, fwdValue)
			}
		}
	})
}
