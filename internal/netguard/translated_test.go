package netguard

import (
	"net/netip"
	"testing"
)

// Found in review: addresses that reach IPv4 loopback/metadata/private space through
// IPv6 translation prefixes.
func TestTranslatedIPv6Refused(t *testing.T) {
	p := Policy{AllowedHosts: []string{"*"}}
	for _, a := range []string{
		"64:ff9b::a9fe:a9fe", // NAT64 well-known prefix -> 169.254.169.254
		"64:ff9b::7f00:1",    // NAT64 -> 127.0.0.1
		"64:ff9b:1::a00:1",   // local-use NAT64 (RFC 8215) -> 10.0.0.1
		"2002:a9fe:a9fe::1",  // 6to4 embedding 169.254.169.254
		"::7f00:1",           // IPv4-compatible 127.0.0.1 (deprecated)
		"::ffff:0:7f00:1",    // SIIT IPv4-translated
		"2001::1",            // Teredo
	} {
		if err := p.CheckAddr(netip.MustParseAddr(a)); err == nil {
			t.Errorf("%s allowed", a)
		}
	}
}
