package main

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/netguard"
)

// alertOptions turns audit.alerts into the audit log's rules. Webhooks go
// through netguard: only audit.alerts.webhookHosts, only public addresses
// unless in audit.alerts.webhookNetworks, redirects checked the same way.
func alertOptions(a config.Alerts) (audit.AlertOptions, error) {
	o := audit.AlertOptions{MaxTracked: a.MaxTracked}
	hook := func(h config.AlertWebhook) *audit.Webhook {
		if h.URL.Reveal() == "" {
			return nil
		}
		w := &audit.Webhook{URL: h.URL.Reveal(), Headers: http.Header{}}
		for _, hd := range h.Headers {
			w.Headers.Add(hd.Name, hd.Value.Reveal())
		}
		return w
	}
	if r := a.OutsideHours; r.Enabled {
		loc, days, from, to, problems := r.Hours()
		if len(problems) > 0 {
			return o, fmt.Errorf("audit.alerts.outsideHours.%s: %s", problems[0][0], problems[0][1])
		}
		o.OutsideHours = &audit.OutsideHoursRule{Name: r.Name, Webhook: hook(r.Webhook), Location: loc, Days: days, From: from, To: to}
	}
	if r := a.CatalogReads; r.Enabled {
		o.CatalogReads = &audit.CatalogReadsRule{Name: r.Name, Webhook: hook(r.Webhook), Threshold: int64(r.Threshold), Window: r.Window}
	}
	if r := a.CatalogMutations; r.Enabled {
		o.CatalogMutations = &audit.CatalogMutationsRule{Name: r.Name, Webhook: hook(r.Webhook), Allowed: r.Allowed}
	}
	if r := a.SignInFailures; r.Enabled {
		o.SignInFailures = &audit.SignInFailuresRule{Name: r.Name, Webhook: hook(r.Webhook), PerIP: int64(r.PerIP), Total: int64(r.Total), Window: r.Window}
	}
	policy := netguard.Policy{AllowedHosts: a.WebhookHosts, Setting: "audit.alerts.webhookHosts", Timeout: a.WebhookTimeout}
	for _, n := range a.WebhookNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return o, fmt.Errorf("audit.alerts.webhookNetworks: %q is not a CIDR", n)
		}
		policy.AllowedNetworks = append(policy.AllowedNetworks, p)
	}
	o.Webhooks = audit.WebhookOptions{Client: netguard.NewClient(policy), Timeout: a.WebhookTimeout, Queue: a.WebhookQueue}
	return o, nil
}
