package auth

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
)

// TestNetworkGuest: only a request with no credential at all, from a listed
// network (by the connection's peer address), is the read-only guest. A
// token — even a wrong one — or a cookie goes to the next authenticator, and
// a forwarded header cannot make an outside caller a guest.
func TestNetworkGuest(t *testing.T) {
	tokens := NewServiceTokens([]ServiceToken{{Name: "ci", Token: "ci-token-0123456789-0123456789-0123"}})
	g, err := NewNetworkGuest(tokens, []string{"10.0.0.0/8", " 2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote, header, value string
		want                        string // ref, or "" for unauthenticated
	}{
		{"inside, no credential", "10.1.2.3:5000", "", "", GuestRefReadOnly},
		{"inside, IPv6", "[2001:db8::7]:5000", "", "", GuestRefReadOnly},
		{"inside, IPv4-mapped IPv6", "[::ffff:10.9.9.9]:5000", "", "", GuestRefReadOnly},
		{"outside", "192.168.1.1:5000", "", "", ""},
		{"outside with a forged forwarded header", "192.168.1.1:5000", "X-Forwarded-For", "10.1.2.3", ""},
		{"inside with a valid token", "10.1.2.3:5000", "Authorization", "Bearer ci-token-0123456789-0123456789-0123", "service:ci"},
		{"inside with a wrong token stays refused", "10.1.2.3:5000", "Authorization", "Bearer wrong", ""},
		{"inside with a cookie is not a guest", "10.1.2.3:5000", "Cookie", "rigger_refresh=x", ""},
		{"unparsable peer", "somewhere", "", "", ""},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/catalog/entities", nil)
		r.RemoteAddr = c.remote
		if c.header != "" {
			r.Header.Set(c.header, c.value)
		}
		id, err := g.Authenticate(r)
		if c.want == "" {
			if !errors.Is(err, errs.ErrUnauthenticated) {
				t.Errorf("%s: want unauthenticated, got %+v, %v", c.name, id, err)
			}
			continue
		}
		if err != nil || id.Ref != c.want || id.Guest != (c.want == GuestRefReadOnly) {
			t.Errorf("%s: got %+v, %v; want %s", c.name, id, err, c.want)
		}
	}
	// Behind a trusted proxy (192.0.2.7), the client it names decides.
	proxies, err := ParseProxies([]string{"192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		forwarded string
		guest     bool
	}{{"10.1.2.3", true}, {"192.168.1.1", false}, {"10.1.2.3, 192.168.1.1", false}} {
		r := httptest.NewRequest("GET", "/api/catalog/entities", nil)
		r.RemoteAddr = "192.0.2.7:443"
		r.Header.Set("X-Forwarded-For", c.forwarded)
		id, err := g.Authenticate(WithClientAddr(r, proxies.Client(r)))
		if got := err == nil && id.Guest; got != c.guest {
			t.Errorf("through the proxy for %s: guest %v (%+v, %v), want %v", c.forwarded, got, id, err, c.guest)
		}
	}
	if _, err := NewNetworkGuest(tokens, []string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}
