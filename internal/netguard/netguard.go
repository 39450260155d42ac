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
	"os"
	"path"
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
	// AllowedPaths limits a host pattern of AllowedHosts (the same spelling)
	// to path prefixes ("/acme" allows /acme and /acme/..., not /acme-x). A
	// pattern without an entry allows every path. When several patterns
	// match a host, a path any of them allows is allowed. Checked on every
	// request and redirect before any DNS lookup.
	AllowedPaths map[string][]string
	// Setting names the configuration that allows hosts ("catalog.reading.allow"),
	// for refusal messages.
	Setting string
	// Resolver resolves host names (nil: the system's); tests inject one.
	Resolver *net.Resolver
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
	if e.Target == "" { // a connection refused at dial time, outside Get
		return "refusing to connect: " + e.Reason
	}
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
	if reason := p.pathRefused(host, u); reason != "" {
		return &BlockedError{Target: target, Reason: reason + p.change()}
	}
	return nil
}

// change names the setting to change in refusal messages.
func (p Policy) change() string {
	if p.Setting == "" {
		return ""
	}
	return " (configured in " + p.Setting + ")"
}

// pathRefused checks u's path against the prefixes of the patterns that
// allow host; "" means allowed. The path is the decoded one, and a path
// with dot segments, backslashes or encoded separators is refused outright
// (a server would resolve them after the check).
func (p Policy) pathRefused(host string, u *url.URL) string {
	var prefixes []string
	for _, pat := range p.AllowedHosts {
		if !patternMatches(strings.ToLower(strings.TrimSpace(pat)), host) {
			continue
		}
		ps, limited := p.pathsFor(pat)
		if !limited {
			return ""
		}
		prefixes = append(prefixes, ps...)
	}
	if len(prefixes) == 0 {
		return ""
	}
	reqPath := u.Path
	if reqPath == "" {
		reqPath = "/"
	}
	lower := strings.ToLower(u.EscapedPath())
	if strings.Contains(reqPath, "\\") || strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%2e") ||
		strings.Contains(reqPath, "%") || hasDotSegment(reqPath) {
		return fmt.Sprintf("path %q is not a plain path (dot segments, backslashes and encoded separators are refused on a host limited to paths %v)", reqPath, prefixes)
	}
	for _, pre := range prefixes {
		pre = path.Clean("/" + pre)
		if pre == "/" || reqPath == pre || strings.HasPrefix(reqPath, pre+"/") {
			return ""
		}
	}
	return fmt.Sprintf("path %q on host %q is outside the allowed paths %v", reqPath, host, prefixes)
}

// pathsFor returns the prefixes AllowedPaths gives pattern pat, and
// whether it limits it at all.
func (p Policy) pathsFor(pat string) ([]string, bool) {
	for k, v := range p.AllowedPaths {
		if strings.EqualFold(strings.TrimSpace(k), strings.TrimSpace(pat)) && len(v) > 0 {
			return v, true
		}
	}
	return nil, false
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func (p Policy) hostAllowed(host string) bool {
	for _, pat := range p.AllowedHosts {
		if patternMatches(strings.ToLower(strings.TrimSpace(pat)), host) {
			return true
		}
	}
	return false
}

// patternMatches matches a lower-cased host pattern against host.
func patternMatches(pat, host string) bool {
	switch {
	case pat == "*":
		return true
	case strings.HasPrefix(pat, "*."):
		return strings.HasSuffix(host, pat[1:]) && len(host) > len(pat)-1
	}
	return pat == host
}

// CheckAddr refuses an IP address the policy does not allow.
func (p Policy) CheckAddr(ip netip.Addr) error {
	if reason := p.addrReason(ip); reason != "" {
		return fmt.Errorf("%s is %s", ip.Unmap(), reason)
	}
	return nil
}

// addrReason names why ip is refused (without the address), or "".
func (p Policy) addrReason(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, n := range p.AllowedNetworks {
		if n.Contains(ip) {
			return ""
		}
	}
	reason := classify(ip)
	if reason == "a private address" && p.AllowPrivate {
		return ""
	}
	return reason
}

// AddrRefusal is the refusal of a resolved address for messages that leave
// the server: what kind of address, not which (nil if ip is allowed).
func (p Policy) AddrRefusal(target string, ip netip.Addr) error {
	if reason := p.addrReason(ip); reason != "" {
		return &BlockedError{Target: target, Reason: "its host resolves to " + reason + p.networkHint()}
	}
	return nil
}

// networkHint says which setting would allow a refused network.
func (p Policy) networkHint() string {
	if p.Setting == "" {
		return ""
	}
	return " (only public addresses are allowed for hosts in " + p.Setting + ")"
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
		Timeout:  10 * time.Second,
		Resolver: p.Resolver,
		// Control runs after DNS resolution, before connect: the address
		// checked is the address used, so DNS rebinding cannot slip past.
		Control: func(network, address string, _ syscall.RawConn) error {
			// The refusal names no address: the URL (filled in by Get) says
			// what was refused, and DNS answers stay out of API responses.
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &BlockedError{Reason: "its host resolves to an unparseable address"}
			}
			if reason := p.addrReason(ap.Addr()); reason != "" {
				return &BlockedError{Reason: "its host resolves to " + reason + p.networkHint()}
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
		return nil, describe(u, err)
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

// Describe is describe for clients that call Do themselves.
func Describe(u *url.URL, err error) error { return describe(u, err) }

// describe turns a failed request's error into one fit for an API
// response: a refusal names the URL refused and why, other failures name the
// URL and the kind of failure, never resolved addresses or the resolver's.
// The full error stays available to logs through Unwrap.
func describe(u *url.URL, err error) error {
	target := redact(u)
	var ue *url.Error
	if errors.As(err, &ue) {
		if hop, perr := url.Parse(ue.URL); perr == nil {
			target = redact(hop)
		}
	}
	var be *BlockedError
	if errors.As(err, &be) {
		if be.Target == "" {
			return &BlockedError{Target: target, Reason: be.Reason}
		}
		return be
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return &FetchError{msg: fmt.Sprintf("fetch %s: cannot resolve host %q", target, dnsErr.Name), cause: err}
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return &FetchError{msg: fmt.Sprintf("fetch %s: timed out", target), cause: err}
	case errors.As(err, &opErr):
		kind := "connection failed"
		if errors.Is(err, syscall.ECONNREFUSED) {
			kind = "connection refused"
		}
		return &FetchError{msg: fmt.Sprintf("fetch %s: %s", target, kind), cause: err}
	}
	return &FetchError{msg: fmt.Sprintf("fetch %s: request failed", target), cause: err}
}

// FetchError is a failed fetch: Error is fit for users, Detail (and Unwrap)
// keep the underlying error (addresses included) for logs.
type FetchError struct {
	msg   string
	cause error
}

func (e *FetchError) Error() string { return e.msg }

// Unwrap returns the underlying error.
func (e *FetchError) Unwrap() error { return e.cause }

// Detail is the underlying error's text, for logs only.
func (e *FetchError) Detail() string { return e.cause.Error() }

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
