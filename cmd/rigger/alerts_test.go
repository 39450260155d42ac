package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/config"
)

// TestAlertOptions: audit.alerts becomes the audit log's rules, with the
// webhook's secret header, and a webhook client that refuses a loopback
// receiver unless audit.alerts.webhookNetworks allows it.
func TestAlertOptions(t *testing.T) {
	var got int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got++ }))
	defer srv.Close()
	a := config.DefaultAlerts()
	a.OutsideHours.Enabled, a.OutsideHours.Timezone = true, "Europe/Berlin"
	a.CatalogMutations.Enabled = true
	a.WebhookHosts = []string{"127.0.0.1"}
	a.CatalogMutations.Webhook = config.AlertWebhook{URL: config.Secret(srv.URL + "/hook"),
		Headers: []config.AlertHeader{{Name: "Authorization", Value: "Bearer t"}}}
	o, err := alertOptions(a)
	if err != nil {
		t.Fatal(err)
	}
	if o.CatalogReads != nil || o.SignInFailures != nil || o.OutsideHours == nil || o.OutsideHours.Location.String() != "Europe/Berlin" ||
		o.OutsideHours.From != 8*time.Hour || len(o.OutsideHours.Days) != 5 || o.CatalogMutations.Allowed[0] != "group:default/platform-team" ||
		o.CatalogMutations.Webhook.Headers.Get("Authorization") != "Bearer t" || o.MaxTracked != 10000 || o.Webhooks.Queue != 100 {
		t.Fatalf("options: %+v", o)
	}
	post := func(c *http.Client) error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/hook", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := post(o.Webhooks.Client); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("a loopback receiver not in webhookNetworks: %v, want refused", err)
	}
	a.WebhookNetworks = []string{"127.0.0.1/32"}
	if o, err = alertOptions(a); err != nil {
		t.Fatal(err)
	}
	if err := post(o.Webhooks.Client); err != nil || got != 1 {
		t.Fatalf("a receiver in webhookNetworks: %v (%d requests)", err, got)
	}
}
