package auth

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestProxiesClient(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy in between", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"an untrusted peer's header is its own words", "203.0.113.5:4000", []string{"10.1.1.1"}, "203.0.113.5"},
		{"a trusted proxy names the client", "10.0.0.2:4000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"the client's own entry left of it does not count", "10.0.0.2:4000", []string{"127.0.0.1, 198.51.100.9"}, "198.51.100.9"},
		{"through two trusted proxies", "10.0.0.2:4000", []string{"198.51.100.9, 192.0.2.7"}, "198.51.100.9"},
		{"one header line per proxy", "10.0.0.2:4000", []string{"1.2.3.4", "198.51.100.9", "10.9.9.9"}, "198.51.100.9"},
		{"every hop trusted: the leftmost", "10.0.0.2:4000", []string{"10.3.3.3, 10.4.4.4"}, "10.3.3.3"},
		{"an unreadable entry is an unknown client, not the proxy", "10.0.0.2:4000", []string{"evil, 10.4.4.4"}, "invalid IP"},
		{"entries with ports", "10.0.0.2:4000", []string{"198.51.100.9:5123, 10.4.4.4:80"}, "198.51.100.9"},
		{"IPv6 with a port", "10.0.0.2:4000", []string{"[2001:db8:1::5]:443"}, "2001:db8:1::5"},
		{"IPv6 in brackets", "10.0.0.2:4000", []string{"[2001:db8:1::5]"}, "2001:db8:1::5"},
		{"no header from a trusted proxy", "10.0.0.2:4000", nil, "10.0.0.2"},
		{"IPv6 and mapped IPv4", "[2001:db8::1]:4000", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := proxies.Client(r).String(); got != c.want {
			t.Errorf("%s: client %s, want %s", c.name, got, c.want)
		}
		if got := ClientAddr(WithClientAddr(r, proxies.Client(r))).String(); got != c.want {
			t.Errorf("%s: ClientAddr %s, want %s", c.name, got, c.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:4000"
	r.Header.Set("X-Forwarded-For", "198.51.100.9")
	if got := Proxies(nil).Client(r).String(); got != "10.0.0.2" {
		t.Errorf("without trusted proxies the peer is the client, got %s", got)
	}
	if got := ClientAddr(r).String(); got != "10.0.0.2" {
		t.Errorf("ClientAddr without a recorded address is the peer, got %s", got)
	}
	for _, bad := range []string{"proxy.internal", "0.0.0.0/0", "::/0"} {
		if _, err := ParseProxies([]string{"10.0.0.0/8", bad}); err == nil {
			t.Errorf("%s was accepted as a proxy", bad)
		}
	}
	mapped, err := ParseProxies([]string{"::ffff:10.0.0.0/104"})
	if err != nil || !mapped.trusts(netip.MustParseAddr("10.1.2.3")) {
		t.Errorf("an IPv4-mapped CIDR: %v %v", mapped, err)
	}
}
