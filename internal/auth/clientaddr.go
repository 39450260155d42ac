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
// client's own words and never count. An unreadable entry stops the walk
// at the last address a trusted proxy vouched for.
func (p Proxies) Client(r *http.Request) netip.Addr {
	client := peerAddr(r.RemoteAddr)
	if !client.IsValid() || len(p) == 0 || !p.trusts(client) {
		return client
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client
			}
			client = a.Unmap()
			if !p.trusts(client) {
				return client
			}
		}
	}
	return client
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
