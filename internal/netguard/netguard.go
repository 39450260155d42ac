// Package netguard is the one HTTP client rigger uses to fetch anything a user
// or a template names (catalog url locations, fetch:* actions). It refuses
// hosts outside an allow-list and, after DNS resolution and right before each
// connection, any address that is not public unicast — loopback, link-local
// (cloud metadata at 169.254.169.254), private ranges, CGNAT, multicast —
// unless the operator explicitly allowed that network. Redirects are checked
// the same way, and environment proxies are ignored (a proxy would hide the
// real destination).
//
// It must not import api, worker, workflows or activities.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// Policy says which destinations are allowed.
type Policy struct {
	// AllowedHosts are host names ("github.com") or suffix patterns
	// ("*.example.com", which does not match example.com itself). "*" allows
	// any host name; the address checks still apply. Empty allows nothing.
	AllowedHosts []string
	// Setting names the configuration key that lists AllowedHosts (e.g.
	// catalog.reading.allow), so a refusal says what to change.
	Setting string
	// AllowPrivate allows RFC 1918 / ULA private networks (not loopback, not
	// link-local, not metadata).
	AllowPrivate bool
	// AllowedNetworks explicitly allows otherwise refused networks, e.g.
	// 127.0.0.1/32 for a server on the same machine.
	AllowedNetworks []netip.Prefix
	// MaxRedirects bounds redirect chains (default 5).
	MaxRedirects int
	// Timeout bounds a whole request (default 30s).
	Timeout time.Duration
}

// BlockedError says why a destination was refused. It unwraps to
// errs.ErrForbidden.
type BlockedError struct {
	Target string
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("refusing to fetch %s: %s", e.Target, e.Reason)
}

// Unwrap makes errors.Is(err, errs.ErrForbidden) true.
func (e *BlockedError) Unwrap() error { return errs.ErrForbidden }

// CheckURL refuses URLs that are not http(s), carry credentials, or name a host
// outside the allow-list. Address checks happen at connection time.
func (p Policy) CheckURL(u *url.URL) error {
	target := redact(u)
	if u.Scheme != "http" && u.Scheme != "https" {
		return &BlockedError{Target: target, Reason: fmt.Sprintf("scheme %q is not allowed (only http and https)", u.Scheme)}
	}
	if u.User != nil {
		return &BlockedError{Target: target, Reason: "credentials in the URL are not allowed"}
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return &BlockedError{Target: target, Reason: "the URL has no host"}
	}
	if !p.hostAllowed(host) {
		reason := fmt.Sprintf("host %q is not in the allowed hosts %v", host, p.AllowedHosts)
		if p.Setting != "" {
			reason += fmt.Sprintf(" (add it to %s in rigger.yaml)", p.Setting)
		}
		return &BlockedError{Target: target, Reason: reason}
	}
	return nil
}

func (p Policy) hostAllowed(host string) bool {
	for _, pat := range p.AllowedHosts {
		pat = strings.ToLower(strings.TrimSpace(pat))
		switch {
		case pat == "*":
			return true
		case strings.HasPrefix(pat, "*."):
			if strings.HasSuffix(host, pat[1:]) && len(host) > len(pat)-1 {
				return true
			}
		case pat == host:
			return true
		}
	}
	return false
}

// CheckAddr refuses an IP address the policy does not allow.
func (p Policy) CheckAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	for _, n := range p.AllowedNetworks {
		if n.Contains(ip) {
			return nil
		}
	}
	reason := classify(ip)
	if reason == "" {
		return nil
	}
	if reason == "a private address" && p.AllowPrivate {
		return nil
	}
	return fmt.Errorf("%s is %s", ip, reason)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// IPv6 prefixes that carry or reach an IPv4 address: NAT64 (well-known and
// local-use), 6to4, Teredo, IPv4-compatible and IPv4-translated (SIIT). An
// address in one of them reaches whatever IPv4 address it embeds, so it is
// refused outright (an operator who needs one allows it explicitly).
var translated = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("::ffff:0:0:0/96"),
}

// classify names why ip is not public unicast, or returns "".
func classify(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "not a valid address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata lives here)"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.IsPrivate():
		return "a private address"
	case ip.Is4() && cgnat.Contains(ip):
		return "a shared (CGNAT) address"
	case ip.Is6() && inAny(translated, ip):
		return "an IPv6 address that embeds an IPv4 one (NAT64, 6to4, Teredo)"
	case !ip.IsGlobalUnicast():
		return "not a public unicast address"
	case ip.Is4() && (ip.As4()[0] == 0 || ip.As4()[0] >= 240):
		return "a reserved address"
	}
	return ""
}

// NewClient returns an http.Client enforcing p on every connection and
// redirect. It does no I/O.
func NewClient(p Policy) *http.Client {
	if p.MaxRedirects == 0 {
		p.MaxRedirects = 5
	}
	if p.Timeout == 0 {
		p.Timeout = 30 * time.Second
	}
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		// Control runs after DNS resolution, before connect: the address
		// checked is the address used, so DNS rebinding cannot slip past.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &BlockedError{Target: address, Reason: "unparseable address"}
			}
			if err := p.CheckAddr(ap.Addr()); err != nil {
				return &BlockedError{Target: address, Reason: err.Error()}
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
	}
	return &http.Client{
		Transport: &checkingTransport{policy: p, next: transport},
		Timeout:   p.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > p.MaxRedirects {
				return &BlockedError{Target: redact(req.URL), Reason: fmt.Sprintf("more than %d redirects", p.MaxRedirects)}
			}
			return p.CheckURL(req.URL)
		},
	}
}

// checkingTransport applies CheckURL to every request, including the first.
type checkingTransport struct {
	policy Policy
	next   http.RoundTripper
}

func (t *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.policy.CheckURL(req.URL); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// Get fetches url and returns at most maxBytes of its body; a larger body, a
// refused destination or a non-2xx status is an error.
func Get(ctx context.Context, c *http.Client, rawURL string, maxBytes int64) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a URL: %v", errs.ErrInvalid, rawURL, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errs.ErrInvalid, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		var be *BlockedError
		if errors.As(err, &be) {
			return nil, be
		}
		return nil, fmt.Errorf("fetch %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("fetch %s: HTTP %d", redact(u), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", redact(u), err)
	}
	if int64(len(body)) > maxBytes {
		return nil, fmt.Errorf("%w: fetch %s: body is larger than %d bytes", errs.ErrInvalid, redact(u), maxBytes)
	}
	return body, nil
}

// redact drops userinfo and the query (which may hold tokens) from a URL
// shown in messages.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	return c.String()
}

func inAny(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
