package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies (server.trustedProxies) whose
// X-Forwarded-For rigger believes. Without any, the connection's peer is
// the client, whatever a header says.
type Proxies []netip.Prefix

// ParseProxies parses CIDRs or single addresses.
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", s)
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("%q trusts every address: any caller could then choose its own", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (p Proxies) trusts(a netip.Addr) bool {
	for _, n := range p {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Client is the address of the client that made r: the connection's peer,
// or — when that peer is a trusted proxy — the nearest address in
// X-Forwarded-For (read from the right, as each proxy appends the address
// it heard from) that is not a trusted proxy. Entries left of it are the
// client's own words and never count. An entry may carry a port
// (1.2.3.4:5, [2001:db8::1]:5). An unreadable entry gives the zero Addr:
// an unknown client, never the proxy's own address (which guest networks
// or a shared rate-limit bucket would then apply to).
func (p Proxies) Client(r *http.Request) netip.Addr {
	client := peerAddr(r.RemoteAddr)
	if !client.IsValid() || len(p) == 0 || !p.trusts(client) {
		return client
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a := forwardedAddr(strings.TrimSpace(parts[j]))
			if !a.IsValid() {
				return netip.Addr{}
			}
			client = a
			if !p.trusts(client) {
				return client
			}
		}
	}
	return client
}

// forwardedAddr reads one X-Forwarded-For entry: an address, with or
// without a port, IPv6 possibly in brackets; unmapped, without a zone. The
// zero Addr when it is none.
func forwardedAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

// peerAddr is the address of a host:port (or bare host), unmapped; the
// zero Addr when it is not one.
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

type clientAddrKey struct{}

// WithClientAddr records the request's client address (Proxies.Client)
// for ClientAddr.
func WithClientAddr(r *http.Request, a netip.Addr) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, a))
}

// ClientAddr is the client address WithClientAddr recorded, else the
// connection's peer.
func ClientAddr(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(clientAddrKey{}).(netip.Addr); ok {
		return a
	}
	return peerAddr(r.RemoteAddr)
}
