package auth

import (
	"fmt"

	"net/http"
	"net/netip"
	"strings"
)

// GuestRefReadOnly is the identity of rigger server's read-only guest.
const GuestRefReadOnly = "guest:anonymous"

// NetworkGuest is rigger server's read-only guest access (auth.guest): a
// request without any credential (no Authorization header, no cookie, no
// proxy assertion among Headers) whose connection comes from one of
// Networks is the guest; everything else goes to Next. The client address
// decides (ClientAddr: the connection's peer, or what a trusted proxy
// forwarded — never a header the caller alone wrote). A request that presents a
// credential is never downgraded to the guest: a wrong token stays a 401.
type NetworkGuest struct {
	Next     Authenticator
	Networks []netip.Prefix
	// Headers are further credential headers (proxy assertions).
	Headers []string
}

// NewNetworkGuest parses the CIDRs of auth.guest.networks; headers are
// the proxy assertion headers that also count as credentials.
func NewNetworkGuest(next Authenticator, cidrs []string, headers ...string) (*NetworkGuest, error) {
	g := &NetworkGuest{Next: next, Headers: headers}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("auth.guest.networks: %q is not a CIDR: %w", c, err)
		}
		g.Networks = append(g.Networks, p.Masked())
	}
	return g, nil
}

// Authenticate implements Authenticator.
func (g *NetworkGuest) Authenticate(r *http.Request) (Identity, error) {
	if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" || !g.fromNetworks(ClientAddr(r)) {
		return g.Next.Authenticate(r)
	}
	for _, h := range g.Headers {
		if r.Header.Get(h) != "" {
			return g.Next.Authenticate(r)
		}
	}
	return Identity{Ref: GuestRefReadOnly, Guest: true, Via: "guest"}, nil
}

func (g *NetworkGuest) fromNetworks(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range g.Networks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
