package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/netguard"
)

// Hours returns the rule's zone, days and hours as offsets from midnight,
// or the first problem with them as path-prefixed messages.
func (a OutsideHoursAlert) Hours() (loc *time.Location, days []time.Weekday, from, to time.Duration, problems [][2]string) {
	tz := a.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		problems = append(problems, [2]string{"timezone", fmt.Sprintf("%s is not a known time zone (an IANA name such as Europe/Berlin or UTC)", quote(tz))})
	}
	if len(a.Days) == 0 {
		problems = append(problems, [2]string{"days", "lists no day (write [mon, tue, wed, thu, fri])"})
	}
	seen := map[time.Weekday]bool{}
	for i, d := range a.Days {
		w, ok := weekday(strings.ToLower(d))
		switch {
		case !ok:
			problems = append(problems, [2]string{index("days", i), fmt.Sprintf("%s is not a day (mon, tue, wed, thu, fri, sat or sun)", quote(d))})
		case seen[w]:
			problems = append(problems, [2]string{index("days", i), fmt.Sprintf("%s is listed twice", quote(d))})
		default:
			seen[w] = true
			days = append(days, w)
		}
	}
	from, ok := clock(a.From)
	if !ok {
		problems = append(problems, [2]string{"from", fmt.Sprintf("%s is not a time of day HH:MM (like 08:00)", quote(a.From))})
	}
	to, ok2 := clock(a.To)
	if !ok2 {
		problems = append(problems, [2]string{"to", fmt.Sprintf("%s is not a time of day HH:MM (like 20:00)", quote(a.To))})
	}
	if ok && ok2 && from == to {
		problems = append(problems, [2]string{"to", "equals from: the working hours would be empty"})
	}
	return loc, days, from, to, problems
}

// weekday parses a day's three-letter name.
func weekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.ToLower(d.String()[:3]) == s {
			return d, true
		}
	}
	return 0, false
}

// clock parses HH:MM into an offset from midnight.
func clock(s string) (time.Duration, bool) {
	m := regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`).FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute, true
}

func (c *Config) validateAlerts(v *validator) {
	a := c.Audit.Alerts
	const p = "audit.alerts"
	for i, h := range a.WebhookHosts {
		v.host(index(p+".webhookHosts", i), h, true)
	}
	for i, n := range a.WebhookNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			v.add(index(p+".webhookNetworks", i), "%s is not a CIDR (like 10.0.0.0/8)", quote(n))
		}
	}
	if a.MaxTracked < 1 {
		v.add(p+".maxTracked", "must be at least 1")
	}
	v.positive(p+".webhookTimeout", a.WebhookTimeout)
	if a.WebhookQueue < 1 {
		v.add(p+".webhookQueue", "must be at least 1")
	}
	names := map[string]string{}
	rule := func(key string, enabled bool, name string, hook AlertWebhook) {
		rp := p + "." + key
		if enabled {
			if v.required(rp+".name", name) {
				if other, dup := names[name]; dup {
					v.add(rp+".name", "%s is also the name of %s", quote(name), other)
				}
				names[name] = rp
			}
		}
		c.validateWebhook(v, rp+".webhook", hook)
	}
	h := a.OutsideHours
	rule("outsideHours", h.Enabled, h.Name, h.Webhook)
	if h.Enabled {
		_, _, _, _, problems := h.Hours()
		for _, pr := range problems {
			v.add(p+".outsideHours."+pr[0], "%s", pr[1])
		}
	}
	r := a.CatalogReads
	rule("catalogReads", r.Enabled, r.Name, r.Webhook)
	if r.Enabled {
		if r.Threshold < 1 {
			v.add(p+".catalogReads.threshold", "must be at least 1")
		}
		v.positive(p+".catalogReads.window", r.Window)
	}
	m := a.CatalogMutations
	rule("catalogMutations", m.Enabled, m.Name, m.Webhook)
	if m.Enabled {
		if len(m.Allowed) == 0 {
			v.add(p+".catalogMutations.allowed", "lists nobody: every catalog change would raise an alert (list the platform team, like group:default/platform-team)")
		}
		for i, ref := range m.Allowed {
			if !validAdminRef(ref) {
				v.add(index(p+".catalogMutations.allowed", i), "%s is not a user or group entity ref (like group:default/platform-team)", quote(ref))
			}
		}
	}
	s := a.SignInFailures
	rule("signInFailures", s.Enabled, s.Name, s.Webhook)
	if s.Enabled {
		if s.PerIP < 0 || s.Total < 0 || s.PerIP == 0 && s.Total == 0 {
			v.add(p+".signInFailures", "perIP and total must be 0 (off) or more, and one of them more than 0")
		}
		v.positive(p+".signInFailures.window", s.Window)
	}
}

// validateWebhook checks a webhook. Its URL is a secret (it may hold a
// token): messages name its host at most.
func (c *Config) validateWebhook(v *validator, p string, h AlertWebhook) {
	raw := h.URL.Reveal()
	if raw == "" {
		if len(h.Headers) > 0 {
			v.add(p+".headers", "only used with a url")
		}
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.add(p+".url", "is not a valid URL")
		return
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		v.add(p+".url", "is not an absolute http or https URL")
		return
	case u.User != nil:
		v.add(p+".url", "must not hold credentials (user:password@); send them in a header")
		return
	}
	if err := (netguard.Policy{AllowedHosts: c.Audit.Alerts.WebhookHosts}).CheckURL(u); err != nil {
		v.add(p+".url", "its host %s is not in audit.alerts.webhookHosts %v", quote(u.Hostname()), c.Audit.Alerts.WebhookHosts)
	}
	for i, hd := range h.Headers {
		hp := index(p+".headers", i)
		switch {
		case !regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`).MatchString(hd.Name):
			v.add(hp+".name", "%s is not a header name (letters, digits and -)", quote(hd.Name))
		case strings.EqualFold(hd.Name, "Content-Type") || strings.EqualFold(hd.Name, "Content-Length") || strings.EqualFold(hd.Name, "Host"):
			v.add(hp+".name", "%s is set by rigger", quote(hd.Name))
		}
		if strings.ContainsAny(hd.Value.Reveal(), "\r\n") {
			v.add(hp+".value", "must be one line")
		}
	}
}
