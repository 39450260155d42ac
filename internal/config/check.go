package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validator collects Validate's problems.
type validator struct{ problems problems }

func (v *validator) add(p, format string, args ...any) {
	if v.problems.full() {
		v.problems.extra++
		return
	}
	v.problems.add(&Problem{Path: p, Message: fmt.Sprintf(format, args...)})
}

// required reports an empty value and says whether val was non-empty.
func (v *validator) required(p, val string) bool {
	if strings.TrimSpace(val) == "" {
		v.add(p, "is required")
		return false
	}
	return true
}

// sqlitePath reports a path SQLite cannot open the way rigger and the
// embedded Temporal server open their files: as a file: URI, where "?"
// starts the parameters, "#" ends the name and "%" escapes a byte. Such a
// path opened another file than the one named, or failed with "unable to
// open database file".
func (v *validator) sqlitePath(p, val string) {
	if i := strings.IndexAny(val, "?#%"); i >= 0 {
		v.add(p, "%s holds %q, which SQLite's file: URIs read as syntax, not as part of the name; choose a path without ?, # or %%", quote(val), val[i:i+1])
	}
}

func (v *validator) oneOf(p, val string, allowed ...string) {
	if slices.Contains(allowed, val) {
		return
	}
	if val == "" {
		v.add(p, "is required (one of %s)", strings.Join(allowed, ", "))
		return
	}
	v.add(p, "%s is not one of %s", quote(val), strings.Join(allowed, ", "))
}

func (v *validator) positive(p string, d time.Duration) {
	if d <= 0 {
		v.add(p, "must be a positive duration (like 90s or 5m)")
	}
}

// hostPort splits a host:port address and checks both halves; it reports a
// problem and returns ok false if it is not one.
func (v *validator) hostPort(p, val string, minPort int) (host string, port int, ok bool) {
	if val == "" {
		v.add(p, "is required (host:port)")
		return "", 0, false
	}
	if strings.Contains(val, "://") {
		v.add(p, "%s is not host:port (write it without a scheme)", quote(val))
		return "", 0, false
	}
	host, ps, err := net.SplitHostPort(val)
	if err != nil {
		v.add(p, "%s is not host:port", quote(val))
		return "", 0, false
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < minPort || port > 65535 {
		v.add(p, "%s has an invalid port (%d to 65535)", quote(val), minPort)
		return "", 0, false
	}
	if host != "" && !validHostname(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			v.add(p, "%s has an invalid host", quote(val))
			return "", 0, false
		}
	}
	return host, port, true
}

// listen checks an address to listen on. An empty host is refused: binding
// every interface must be written out (0.0.0.0).
func (v *validator) listen(p, val string) {
	host, port, ok := v.hostPort(p, val, 0)
	if ok && host == "" {
		v.add(p, "%s has no host: write 127.0.0.1:%d to stay local, or 0.0.0.0:%d to listen on every interface",
			quote(val), port, port)
	}
}

// dial checks an address to connect to.
func (v *validator) dial(p, val string) {
	host, _, ok := v.hostPort(p, val, 1)
	if ok && host == "" {
		v.add(p, "%s has no host", quote(val))
	}
}

// noClash reports listen addresses that would collide.
func (v *validator) noClash(addrs [][2]string) {
	type bound struct {
		name, host string
		port       int
	}
	var seen []bound
	for _, a := range addrs {
		host, ps, err := net.SplitHostPort(a[1])
		port, perr := strconv.Atoi(ps)
		if err != nil || perr != nil || port == 0 {
			continue // reported elsewhere, or an ephemeral port
		}
		for _, b := range seen {
			if b.port == port && (b.host == host || anyHost(b.host) || anyHost(host)) {
				v.add(a[0], "%s clashes with %s (%s)", quote(a[1]), b.name, quote(net.JoinHostPort(b.host, strconv.Itoa(b.port))))
			}
		}
		seen = append(seen, bound{a[0], host, port})
	}
}

func anyHost(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }

// url checks an absolute http(s) URL without credentials or fragment. With
// httpsOnly, plain http is allowed only for loopback hosts.
func (v *validator) url(p, raw string, httpsOnly bool) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		v.add(p, "is not a valid URL")
		return nil, false
	}
	if u.User != nil {
		v.add(p, "must not hold credentials (user:password@); put them in a secret field")
		return nil, false
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		v.add(p, "%s is not an absolute http or https URL", quote(raw))
	case httpsOnly && u.Scheme == "http" && !loopback(u.Hostname()):
		v.add(p, "%s must use https (http is allowed only for localhost)", quote(raw))
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		v.add(p, "%s must not have a #fragment", quote(raw))
	default:
		return u, true
	}
	return nil, false
}

// baseURL checks a URL that links are built from.
func (v *validator) baseURL(p, raw string) {
	if !v.required(p, raw) {
		return
	}
	u, ok := v.url(p, raw, false)
	if !ok {
		return
	}
	if u.RawQuery != "" || u.ForceQuery {
		v.add(p, "%s must not have a query", quote(raw))
	}
	if strings.HasSuffix(u.Path, "/") {
		v.add(p, "%s must not end with /", quote(raw))
	}
}

// noCredentials refuses a password inside a URL (a git remote); a user name
// alone (git@) is fine.
func (v *validator) noCredentials(p, raw string) {
	if !strings.Contains(raw, "://") {
		return // scp-like remote (git@host:org/repo) or a local path
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.add(p, "is not a valid URL")
		return
	}
	if _, set := u.User.Password(); set {
		v.add(p, "must not hold a password; configure credentials under integrations")
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// host checks an allow-list entry: a host name, an IP address, or (with
// wildcard) a *.suffix pattern. It says whether the entry is usable.
func (v *validator) host(p, h string, wildcard bool) bool {
	form := "a host name"
	if wildcard {
		form = "a host name or *.suffix pattern"
	}
	switch {
	case h == "":
		v.add(p, "is required")
		return false
	case strings.Contains(h, "://"):
		v.add(p, "%s is a URL; write only the host name, like github.com", quote(h))
		return false
	case strings.ContainsAny(h, "/?#"):
		v.add(p, "%s has a path; write only the host name, like github.com", quote(h))
		return false
	case h == "*" && wildcard:
		v.add(p, "a bare * would allow every host; list host names or *.suffix patterns")
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	name := h
	if wildcard && strings.HasPrefix(h, "*.") {
		name = h[2:]
		if validHostname(name) && !strings.Contains(name, ".") {
			v.add(p, "%s is too broad: a pattern must name a domain, like *.example.com", quote(h))
			return false
		}
	}
	if strings.Contains(name, ":") {
		v.add(p, "%s has a port; hosts are matched by name only", quote(h))
		return false
	}
	if !validHostname(name) {
		v.add(p, "%s is not %s (no scheme, port or path)", quote(h), form)
		return false
	}
	return true
}

// validHostname reports whether h is a DNS host name (labels of letters,
// digits and inner hyphens; no trailing dot).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

func (v *validator) rules(p string, rules []Rule) {
	for i, r := range rules {
		rp := index(p, i)
		if len(r.Allow) == 0 {
			v.add(rp+".allow", "must list at least one kind")
		}
		for j, k := range r.Allow {
			if !validKind(k) {
				v.add(index(rp+".allow", j), "%s is not an entity kind (like Component)", quote(k))
			}
		}
		for j, l := range r.Locations {
			lp := index(rp+".locations", j)
			v.oneOf(lp+".type", l.Type, "file", "url", "git")
			if l.Target != "" && l.Pattern != "" {
				v.add(lp, "set target or pattern, not both")
			}
			if l.Pattern != "" {
				if _, err := path.Match(l.Pattern, ""); err != nil {
					v.add(lp+".pattern", "%s is not a valid glob", quote(l.Pattern))
				}
			}
		}
	}
}

func validKind(k string) bool {
	if k == "" || len(k) > 63 {
		return false
	}
	for i, c := range k {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validAdminRef accepts user:[namespace/]name and group:[namespace/]name.
func validAdminRef(ref string) bool {
	re := regexp.MustCompile(`^(?i:user|group):([a-z0-9]+(?:[-_.][a-z0-9]+)*/)?[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*$`)
	return len(ref) <= 253 && re.MatchString(ref)
}

func validRegion(r string) bool {
	return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`).MatchString(r)
}

func validALBARN(arn string) bool {
	return regexp.MustCompile(`^arn:aws(-[a-z]+)*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/app/[A-Za-z0-9-]+/[0-9a-f]+$`).MatchString(arn)
}

func validIAPAudience(aud string) bool {
	return regexp.MustCompile(`^/projects/[0-9]+/(global/backendServices/[0-9]+|apps/[a-z][a-z0-9-]{4,28}[a-z0-9])$`).MatchString(aud)
}

func validTeamDomain(d string) bool {
	d = strings.TrimSuffix(strings.TrimPrefix(d, "https://"), "/")
	return regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.cloudflareaccess\.com$`).MatchString(d)
}

func validAUDTag(aud string) bool { return regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(aud) }

// signIn checks a provider's sign-in resolvers (the names internal/auth's
// CheckResolverStrategy accepts; config must not import auth).
func (v *validator) signIn(p string, s SignIn) {
	for i, r := range s.Resolvers {
		rp := index(p+".resolvers", i) + ".resolver"
		switch {
		case r.Resolver == "emailMatchingUserEntityProfileEmail", r.Resolver == "usernameMatchingUserEntityName":
		case strings.HasPrefix(r.Resolver, "annotation:"):
			if key := strings.TrimPrefix(r.Resolver, "annotation:"); key == "" || strings.ContainsAny(key, " \t\n") {
				v.add(rp, "name the annotation, e.g. annotation:github.com/user-login")
			}
		case r.Resolver == "":
			v.add(rp, "is required")
		default:
			v.add(rp, "unknown resolver %s: use emailMatchingUserEntityProfileEmail, usernameMatchingUserEntityName or annotation:<key>", quote(r.Resolver))
		}
	}
}

func validRoleARN(arn string) bool {
	return regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`).MatchString(arn)
}
