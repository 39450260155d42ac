package netguard

import (
	"net/netip"
	"strings"
	"testing"
)

// TestCheckAddrRanges pins each refused range at and just past its edges:
// CGNAT (100.64.0.0/10, where cloud metadata such as 100.100.100.200
// lives), multicast, 240/4 and 0/8, and what allowPrivateNetworks does and
// does not open.
func TestCheckAddrRanges(t *testing.T) {
	strict := Policy{AllowedHosts: []string{"*"}}
	private := Policy{AllowedHosts: []string{"*"}, AllowPrivate: true}
	cases := []struct {
		addr   string
		policy Policy
		want   string // substring of the refusal; "" = allowed
	}{
		{"100.100.100.200", strict, "CGNAT"},
		{"100.64.0.0", strict, "CGNAT"},
		{"100.127.255.255", strict, "CGNAT"},
		{"100.63.255.255", strict, ""},
		{"100.128.0.0", strict, ""},
		{"100.100.100.200", private, "CGNAT"},
		{"224.0.0.1", strict, "multicast"},
		{"239.255.255.250", strict, "multicast"},
		{"ff02::1", strict, "multicast"},
		{"ff0e::1", private, "multicast"},
		{"240.0.0.1", strict, "reserved"},
		{"250.1.2.3", private, "reserved"},
		{"255.255.255.254", strict, "reserved"},
		{"0.1.2.3", strict, "reserved"},
		{"223.255.255.255", strict, ""},
		{"8.8.8.8", strict, ""},
		{"2606:4700::1111", strict, ""},
		// allowPrivateNetworks opens RFC 1918 and ULA, nothing else.
		{"10.1.2.3", strict, "private"},
		{"10.1.2.3", private, ""},
		{"172.16.0.1", private, ""},
		{"192.168.1.1", private, ""},
		{"fd00::1", strict, "private"},
		{"fd00::1", private, ""},
		{"127.0.0.1", private, "loopback"},
		{"169.254.169.254", private, "link-local"},
		{"fe80::1", private, "link-local"},
		{"0.0.0.0", private, "unspecified"},
	}
	for _, c := range cases {
		err := c.policy.CheckAddr(netip.MustParseAddr(c.addr))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s (allowPrivate=%v): refused: %v", c.addr, c.policy.AllowPrivate, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s (allowPrivate=%v): %v, want a refusal naming %q", c.addr, c.policy.AllowPrivate, err, c.want)
		}
	}
}
