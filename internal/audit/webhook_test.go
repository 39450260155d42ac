package audit

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
)

// hookSecret is in the webhook's path and header: it must reach the
// receiver and never the logs.
const hookSecret = "s3cr3t-hook-token"

// receiver is an httptest server that keeps what it is POSTed.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  [][]byte
	auth []string
}

func newReceiver(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handle != nil {
			handle(w, r)
		}
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, b)
		rc.auth = append(rc.auth, r.Header.Get("Authorization"))
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) posts() ([][]byte, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.got...), append([]string(nil), rc.auth...)
}

// mutationAlerts is a catalogMutations rule (nobody allowed) whose alerts
// go to url through a netguard client with policy p.
func mutationAlerts(url string, p netguard.Policy, o WebhookOptions) AlertOptions {
	o.Client = netguard.NewClient(p)
	return AlertOptions{
		CatalogMutations: &CatalogMutationsRule{Name: "catalogMutations", Allowed: []string{"group:default/platform-team"},
			Webhook: &Webhook{URL: url + "/hook/" + hookSecret, Headers: http.Header{"Authorization": {"Bearer " + hookSecret}}}},
		Webhooks: o,
	}
}

func recordMutations(l *Log, n int) {
	for range n {
		l.Record(context.Background(), Event{Actor: "user:default/alice", ActorKind: ActorUser, Action: ActionEntityDelete,
			Target: "entity-uid:1", Decision: Allow})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAlertWebhookDelivered: an alert is POSTed, with the configured
// header, to a receiver the netguard policy explicitly allows; the body is
// the alert as stored in the chain (its seq and hash match the database),
// and the chain verifies.
func TestAlertWebhookDelivered(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		rc := newReceiver(t, nil)
		policy := netguard.Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
		var logged lockedBuffer
		l := alertLog(t, st, mutationAlerts(rc.srv.URL, policy, WebhookOptions{}), &clock{t: t0}, &logged)
		recordMutations(l, 1)
		waitFor(t, "the webhook POST", func() bool { got, _ := rc.posts(); return len(got) == 1 })
		got, auth := rc.posts()
		if auth[0] != "Bearer "+hookSecret {
			t.Fatalf("Authorization %q, want the configured header", auth[0])
		}
		var ln Line
		if err := json.Unmarshal(got[0], &ln); err != nil {
			t.Fatalf("webhook body %s: %v", got[0], err)
		}
		var ev Event
		if err := json.Unmarshal(ln.Event, &ev); err != nil {
			t.Fatal(err)
		}
		if ln.Kind != KindAlert || ev.Action != ActionAlert || ev.Target != "catalogMutations" || ev.Details["actor"] != "user:default/alice" {
			t.Fatalf("webhook body: %s", got[0])
		}
		recs, err := st.AuditRecords(context.Background(), store.AuditQuery{Action: ActionAlert, Limit: 10})
		if err != nil || len(recs) != 1 || recs[0].Seq != ln.Seq || recs[0].Hash != ln.Hash || string(recs[0].Body) != string(ln.Event) {
			t.Fatalf("stored alert %+v (%v) does not match the webhook's seq %d hash %s", recs, err, ln.Seq, ln.Hash)
		}
		mustVerify(t, st, 2)
		if strings.Contains(logged.String(), hookSecret) {
			t.Fatalf("the log shows the webhook's secret:\n%s", logged.String())
		}
	})
}

// TestAlertWebhookLoopbackRefused: a webhook on a loopback address that
// the policy does not allow is refused by netguard at connect time and
// logged (without the URL's secret path or the header); nothing arrives,
// and the alert is still in the chain.
func TestAlertWebhookLoopbackRefused(t *testing.T) {
	st := sqliteBackend(t).open(t)
	rc := newReceiver(t, nil)
	var logged lockedBuffer
	l := alertLog(t, st, mutationAlerts(rc.srv.URL, netguard.Policy{AllowedHosts: []string{"127.0.0.1"}}, WebhookOptions{}), &clock{t: t0}, &logged)
	recordMutations(l, 1)
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(logged.String(), "audit alert webhook failed") })
	out := logged.String()
	if !strings.Contains(out, "loopback") || !strings.Contains(out, "rule=catalogMutations") {
		t.Fatalf("the log does not say the loopback address was refused for the rule:\n%s", out)
	}
	if strings.Contains(out, hookSecret) {
		t.Fatalf("the log shows the webhook's secret:\n%s", out)
	}
	if got, _ := rc.posts(); len(got) != 0 {
		t.Fatalf("a refused webhook reached the receiver: %q", got)
	}
	mustVerify(t, st, 2)
}

// TestSlowWebhookDoesNotBlockWrites: while the receiver hangs, every event
// and alert is still stored (Flush returns); alerts beyond the queue are
// dropped and counted, not waited for.
func TestSlowWebhookDoesNotBlockWrites(t *testing.T) {
	st := sqliteBackend(t).open(t)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	rc := newReceiver(t, func(http.ResponseWriter, *http.Request) { <-release })
	policy := netguard.Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	var logged lockedBuffer
	l := New(Options{Store: st, Now: (&clock{t: t0}).Now, Logger: slog.New(slog.NewTextHandler(&logged, nil)),
		Alerts: mutationAlerts(rc.srv.URL, policy, WebhookOptions{Queue: 2, Timeout: time.Minute})})
	t.Cleanup(func() { l.Close() })
	t.Cleanup(unblock) // runs first: cleanups run last first
	const n = 20
	recordMutations(l, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("writes waited for the hanging webhook: %v", err)
	}
	mustVerify(t, st, 2*n)
	// One POST hangs, two wait in the queue, the rest are dropped (one
	// more if the sender had not taken the first yet).
	if d := l.WebhookDropped(); d < n-3 || d > n-2 {
		t.Fatalf("%d alerts dropped, want %d or %d", d, n-3, n-2)
	}
	if !strings.Contains(logged.String(), "queue full") {
		t.Fatalf("the drop is not logged:\n%s", logged.String())
	}
	unblock()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := rc.posts(); len(got) < 2 {
		t.Fatalf("%d alerts delivered once the receiver answered, want the hanging one and the queued ones", len(got))
	}
}
