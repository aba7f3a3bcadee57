package limiter_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"

	"github.com/weftgo/weft/limiter"
)

// Behind a load balancer in 10.0.0.0/8, take the client's address from
// X-Forwarded-For: the right-most address the balancers did not add
// themselves, whatever the client wrote to the left of it.
func ExampleClientIP() {
	key := limiter.ClientIP(limiter.TrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))

	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:40000" // the balancer
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.9.8.7")
	fmt.Println(key(r))

	r.RemoteAddr = "[2001:db8:a:b:c:d:e:f]:40000" // a direct IPv6 client: grouped by /64
	fmt.Println(key(r))
	// Output:
	// 203.0.113.7
	// 2001:db8:a:b::
}
