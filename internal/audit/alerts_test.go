package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// clock is the injectable clock of the alert tests: Record stamps events
// with it, and the rules' windows follow those stamps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is a Monday, 10:00 UTC: a multiple of 5 minutes since the epoch, so
// the counting rules' fixed windows start there.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// alertLog starts a Log on st with the rules of o, clocked by clk, logging
// to logged; Close is a cleanup.
func alertLog(t *testing.T, st store.AuditLog, o AlertOptions, clk *clock, logged *lockedBuffer) *Log {
	t.Helper()
	opts := Options{Store: st, Alerts: o, Now: clk.Now}
	if logged != nil {
		opts.Logger = slog.New(slog.NewTextHandler(logged, nil))
	}
	l := New(opts)
	t.Cleanup(func() { l.Close() })
	return l
}

func flush(t *testing.T, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// alerts lists the stored alert events, oldest first.
func alerts(t *testing.T, l *Log) []Event {
	t.Helper()
	p, err := l.Events(context.Background(), Query{Action: ActionAlert, Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Event, 0, len(p.Events))
	for i := len(p.Events) - 1; i >= 0; i-- {
		e := p.Events[i].Event
		if e.Target == "" || e.ActorKind != ActorSystem {
			t.Fatalf("alert event without its rule or system actor: %+v", e)
		}
		out = append(out, e)
	}
	return out
}

// summary shows alerts briefly in failure messages.
func summary(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Target, e.Reason)
	}
	return b.String()
}

func read(actor string, count int) Event {
	e := Event{Actor: actor, ActorKind: ActorUser, Action: ActionEntityRead, Target: "entities", Decision: Allow, SourceIP: "192.0.2.7"}
	if count > 0 {
		e.Details = map[string]string{DetailCount: strconv.Itoa(count)}
	}
	return e
}

// TestCatalogReadsAlertOncePerWindow: 120 reads by one actor within the
// window raise one alert, not one per read past the threshold; after the
// window the rule is armed again; an actor at the threshold raises none;
// events are weighed by their count; the chain still verifies with the
// alerts in it.
func TestCatalogReadsAlertOncePerWindow(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		clk := &clock{t: t0}
		l := alertLog(t, st, AlertOptions{CatalogReads: &CatalogReadsRule{Name: "catalogReads", Threshold: 50, Window: 5 * time.Minute}}, clk, nil)
		ctx := context.Background()
		for i := range 120 {
			clk.set(t0.Add(time.Duration(i) * time.Second))
			l.Record(ctx, read("user:default/alice", 0))
		}
		for range 5 { // 5 requests of 10 entities: 50, not more than 50
			l.Record(ctx, read("user:default/bob", 10))
		}
		l.Record(ctx, read("user:default/carol", 51)) // one request of 51 entities
		flush(t, l)
		got := alerts(t, l)
		if len(got) != 2 {
			t.Fatalf("%d alerts, want one for alice and one for carol:%s", len(got), summary(got))
		}
		byActor := map[string]Event{}
		for _, a := range got {
			byActor[a.Details["actor"]] = a
		}
		alice, carol := byActor["user:default/alice"], byActor["user:default/carol"]
		if alice.Target != "catalogReads" || alice.Details["count"] != "51" || alice.Details["window"] != "5m0s" || alice.Details["threshold"] != "50" {
			t.Fatalf("alice's alert: %+v", alice)
		}
		if carol.Details["count"] != "51" {
			t.Fatalf("carol's alert (one request of 51 entities): %+v", carol)
		}

		// Two windows later alice is counted afresh: 50 reads raise
		// nothing, the 51st a second alert, and more reads no third.
		later := t0.Add(11 * time.Minute)
		for i := range 70 {
			clk.set(later.Add(time.Duration(i) * time.Second))
			l.Record(ctx, read("user:default/alice", 0))
			if i == 49 {
				flush(t, l)
				if n := len(alerts(t, l)); n != 2 {
					t.Fatalf("after 50 reads in a new window: %d alerts, want still 2", n)
				}
			}
		}
		flush(t, l)
		got = alerts(t, l)
		if len(got) != 3 || got[2].Details["actor"] != "user:default/alice" || got[2].Details["count"] != "51" {
			t.Fatalf("after the window: %+v, want a third alert, alice's, at 51 reads", got)
		}
		mustVerify(t, st, 120+5+1+70+3)
	})
}

// TestCatalogReadsAcrossWindowBoundary: 40 reads just before a window
// boundary and 40 just after are 80 within 5 minutes; the previous
// window's weighted count makes the rule see them.
func TestCatalogReadsAcrossWindowBoundary(t *testing.T) {
	st := sqliteBackend(t).open(t)
	clk := &clock{t: t0}
	l := alertLog(t, st, AlertOptions{CatalogReads: &CatalogReadsRule{Name: "catalogReads", Threshold: 50, Window: 5 * time.Minute}}, clk, nil)
	for i := range 80 {
		at := t0.Add(4*time.Minute + 50*time.Second) // 40 reads in the last 10 s of a window
		if i >= 40 {
			at = t0.Add(5*time.Minute + 10*time.Second) // 40 in the first 10 s of the next
		}
		clk.set(at)
		l.Record(context.Background(), read("user:default/alice", 0))
	}
	flush(t, l)
	if got := alerts(t, l); len(got) != 1 {
		t.Fatalf("%d alerts for 80 reads within 20 s across a window boundary, want 1", len(got))
	}
}

// TestTrackerForgetsOldestKey: a counting rule holds at most MaxTracked
// keys; a new key forgets the one seen least recently.
func TestTrackerForgetsOldestKey(t *testing.T) {
	tr := newTracker(2)
	tr.get("a").cur = 7
	tr.get("b")
	tr.get("a") // a is now the most recent
	tr.get("c") // forgets b
	if len(tr.keys) != 2 || tr.order.Len() != 2 || tr.evicted != 1 {
		t.Fatalf("%d keys, %d in order, %d evicted; want 2, 2, 1", len(tr.keys), tr.order.Len(), tr.evicted)
	}
	if _, ok := tr.keys["b"]; ok {
		t.Fatal("b, the least recently seen, was kept")
	}
	if tr.get("a").cur != 7 {
		t.Fatal("a lost its count")
	}
}

// TestOutsideHoursAlert: a template run at 03:00 in the configured zone
// raises an alert, one at 10:00 on a working day none, one on a Saturday
// one.
func TestOutsideHoursAlert(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		berlin, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		st := b.open(t)
		clk := &clock{}
		rule := &OutsideHoursRule{Name: "outsideHours", Location: berlin, From: 8 * time.Hour, To: 19 * time.Hour,
			Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
		l := alertLog(t, st, AlertOptions{OutsideHours: rule}, clk, nil)
		for i, at := range []time.Time{
			time.Date(2026, 3, 2, 3, 0, 0, 0, berlin),  // Monday 03:00: outside
			time.Date(2026, 3, 2, 10, 0, 0, 0, berlin), // Monday 10:00: inside
			time.Date(2026, 3, 2, 8, 0, 0, 0, berlin),  // Monday 08:00: inside (From is)
			time.Date(2026, 3, 2, 19, 0, 0, 0, berlin), // Monday 19:00: outside (To is not)
			time.Date(2026, 3, 7, 10, 0, 0, 0, berlin), // Saturday 10:00: outside
		} {
			clk.set(at)
			e := event(i)
			e.Action = ActionTaskCreate
			l.Record(context.Background(), e)
		}
		flush(t, l)
		got := alerts(t, l)
		var times []string
		for _, a := range got {
			if a.Target != "outsideHours" || a.Details["actor"] != "user:default/alice" {
				t.Fatalf("alert: %+v", a)
			}
			times = append(times, a.Details["localTime"])
		}
		want := "[2026-03-02T03:00:00+01:00 2026-03-02T19:00:00+01:00 2026-03-07T10:00:00+01:00]"
		if fmt.Sprint(times) != want {
			t.Fatalf("alerts at %v, want %s", times, want)
		}
		mustVerify(t, st, 5+3)
	})
}

// TestOutsideHoursOverMidnight: a night shift, 22:00 to 06:00 starting
// Monday to Friday, covers Saturday 05:00 (Friday's shift), not Monday
// 05:00 (Sunday's).
func TestOutsideHoursOverMidnight(t *testing.T) {
	r := &OutsideHoursRule{Location: time.UTC, From: 22 * time.Hour, To: 6 * time.Hour,
		Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
	for _, c := range []struct {
		at     time.Time
		inside bool
	}{
		{time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC), true},  // Monday 23:00
		{time.Date(2026, 3, 3, 5, 59, 0, 0, time.UTC), true},  // Tuesday 05:59
		{time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC), false},  // Tuesday 06:00
		{time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), false}, // Tuesday noon
		{time.Date(2026, 3, 7, 5, 0, 0, 0, time.UTC), true},   // Saturday 05:00
		{time.Date(2026, 3, 2, 5, 0, 0, 0, time.UTC), false},  // Monday 05:00
		{time.Date(2026, 3, 7, 23, 0, 0, 0, time.UTC), false}, // Saturday 23:00
	} {
		if got := r.inside(c.at); got != c.inside {
			t.Errorf("%s: inside %v, want %v", c.at.Format("Mon 15:04"), got, c.inside)
		}
	}
}

// TestCatalogMutationsAlert: a change by a user outside the allowed groups
// raises an alert; one by a platform-team member (through an ownership
// ref), by a listed user, or a refused one does not.
func TestCatalogMutationsAlert(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		clk := &clock{t: t0}
		l := alertLog(t, st, AlertOptions{CatalogMutations: &CatalogMutationsRule{Name: "catalogMutations",
			Allowed: []string{"group:default/platform-team", "user:default/robot"}}}, clk, nil)
		ctx := context.Background()
		mut := func(actor, action string, decision Decision, ownership ...string) {
			l.Record(ctx, Event{Actor: actor, ActorKind: ActorUser, Ownership: ownership, Action: action,
				Target: "location:1", Decision: decision})
		}
		mut("user:default/alice", ActionLocationCreate, Allow, "user:default/alice", "group:default/team-a")
		mut("user:default/pat", ActionLocationCreate, Allow, "user:default/pat", "group:default/platform-team")
		mut("user:default/robot", ActionEntityDelete, Allow)
		mut("user:default/alice", ActionEntityDelete, Deny, "user:default/alice")
		mut("user:default/alice", ActionEntityRead, Allow, "user:default/alice") // not a change
		mut("user:default/mallory", ActionEntityUpdate, Allow)                   // no ownership refs
		flush(t, l)
		got := alerts(t, l)
		if len(got) != 2 {
			t.Fatalf("%d alerts, want alice's location and mallory's update:%s", len(got), summary(got))
		}
		if got[0].Details["actor"] != "user:default/alice" || got[0].Details["action"] != ActionLocationCreate || got[0].Details["target"] != "location:1" ||
			got[1].Details["actor"] != "user:default/mallory" || got[1].Target != "catalogMutations" {
			t.Fatalf("alerts: %+v", got)
		}
		mustVerify(t, st, 6+2)
	})
}

// TestSignInFailuresAlert: more than PerIP failures from one address raise
// one alert for it; more than Total from all addresses one more. A refused
// token (token.use-denied) counts as a failure like a refused sign-in.
func TestSignInFailuresAlert(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		clk := &clock{t: t0}
		l := alertLog(t, st, AlertOptions{SignInFailures: &SignInFailuresRule{Name: "signInFailures", PerIP: 5, Total: 8, Window: 5 * time.Minute}}, clk, nil)
		failAs := func(action, ip string, n int) {
			for range n {
				clk.set(clk.Now().Add(time.Second))
				l.Record(context.Background(), Event{ActorKind: ActorAnonymous, Action: action, Target: "provider:oidc", Decision: Deny, SourceIP: ip})
			}
		}
		fail := func(ip string, n int) { failAs(ActionLoginFailed, ip, n) }
		fail("198.51.100.1", 5) // at the limit: nothing
		fail("198.51.100.2", 3)
		failAs("auth.denied", "198.51.100.1", 4) // no credential presented: not a failure
		flush(t, l)
		if got := alerts(t, l); len(got) != 0 {
			t.Fatalf("alerts at the limits: %+v", got)
		}
		failAs(ActionTokenUseDenied, "198.51.100.1", 3) // 6th from .1: its alert; 9th in all: the total's
		flush(t, l)
		got := alerts(t, l)
		if len(got) != 2 {
			t.Fatalf("%d alerts, want one for 198.51.100.1 and one for the total:%s", len(got), summary(got))
		}
		if got[0].Details["scope"] != "sourceIp" || got[0].Details["sourceIp"] != "198.51.100.1" || got[0].Details["count"] != "6" ||
			got[1].Details["scope"] != "total" || got[1].Details["count"] != "9" {
			t.Fatalf("alerts: %+v", got)
		}
		mustVerify(t, st, 15+2)
	})
}

// TestAlertsAnchoredByHeadLines: alerts get JSON lines and head lines like
// any event (the head at Close names the last alert), so deleting the
// newest alerts from the database leaves a chain that verifies alone but
// not against the log.
func TestAlertsAnchoredByHeadLines(t *testing.T) {
	onBoth(t, func(t *testing.T, b backend) {
		st := b.open(t)
		var out lockedBuffer
		l := New(Options{Store: st, Out: &out, Now: (&clock{t: t0}).Now,
			Alerts: AlertOptions{CatalogMutations: &CatalogMutationsRule{Name: "catalogMutations", Allowed: []string{"group:default/platform-team"}}}})
		recordMutations(l, 3)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `"kind":"audit.head","seq":6,`) {
			t.Fatalf("no head line for seq 6 (3 events, 3 alerts):\n%s", out.String())
		}
		if _, err := b.raw.Exec(`DELETE FROM audit_events WHERE seq > 4`); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, st, 4)
		a, err := ReadAnchors(strings.NewReader(out.String()))
		if err != nil {
			t.Fatal(err)
		}
		wantBroken(t, st, a, 5, "deleted from the end")
	})
}

// BenchmarkAlertRules measures what the rules add per event on the
// writer goroutine: catalog reads by 50,000 actors (so the 10,000-key
// tracker keeps evicting), failed sign-ins from as many addresses, and
// template runs checked against working hours.
func BenchmarkAlertRules(b *testing.B) {
	a := newAlerter(AlertOptions{
		CatalogReads:     &CatalogReadsRule{Name: "r", Threshold: 50, Window: 5 * time.Minute},
		SignInFailures:   &SignInFailuresRule{Name: "s", PerIP: 10, Total: 1 << 40, Window: 5 * time.Minute},
		OutsideHours:     &OutsideHoursRule{Name: "h", From: 0, To: 24 * time.Hour, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}},
		CatalogMutations: &CatalogMutationsRule{Name: "m", Allowed: []string{"group:default/platform-team"}},
	}, time.Now)
	evs := make([]Event, 3*50000)
	for i := range 50000 {
		evs[3*i] = Event{Actor: fmt.Sprintf("user:default/u%d", i), Action: ActionEntityRead, Details: map[string]string{DetailCount: "3"}}
		evs[3*i+1] = Event{SourceIP: fmt.Sprintf("10.%d.%d.1", i/256, i%256), Action: ActionLoginFailed}
		evs[3*i+2] = Event{Actor: "user:default/x", Action: ActionTaskCreate}
	}
	var out []alert
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e := evs[i%len(evs)]
		e.Time = t0.Add(time.Duration(i) * time.Millisecond)
		out = a.evaluate(e, out[:0])
	}
	if len(a.readers.keys) > defaultMaxTracked || len(a.failures.keys) > defaultMaxTracked {
		b.Fatalf("trackers hold %d and %d keys, more than %d", len(a.readers.keys), len(a.failures.keys), defaultMaxTracked)
	}
}

// TestAlertRuleDefaults: a rule given without name or window gets its
// default ones (no division by a zero window), and the caller's rule is
// not changed.
func TestAlertRuleDefaults(t *testing.T) {
	given := &CatalogReadsRule{Threshold: 1}
	a := newAlerter(AlertOptions{CatalogReads: given, OutsideHours: &OutsideHoursRule{}}, func() time.Time { return t0 })
	var out []alert
	for range 2 {
		out = a.evaluate(Event{Time: t0, Actor: "user:default/a", Action: ActionEntityRead}, out)
	}
	if len(out) != 1 || out[0].ev.Target != "catalogReads" || out[0].ev.Details["window"] != "5m0s" {
		t.Fatalf("alerts: %+v", out)
	}
	if a.hours.Location != time.UTC || a.hours.Name != "outsideHours" {
		t.Fatalf("outsideHours defaults: %+v", a.hours)
	}
	if given.Name != "" || given.Window != 0 {
		t.Fatalf("the caller's rule was changed: %+v", given)
	}
}

// BenchmarkRecordWithAlerts is BenchmarkRecord (SQLite) with every rule
// on and none firing: what the rules cost the writer end to end (compare
// events/s with BenchmarkRecord/sqlite).
func BenchmarkRecordWithAlerts(b *testing.B) {
	st := sqliteBackend(b).open(b)
	all := []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	l := New(Options{Store: st, Alerts: AlertOptions{
		OutsideHours:     &OutsideHoursRule{From: 0, To: 23*time.Hour + 59*time.Minute + 59*time.Second, Days: all},
		CatalogReads:     &CatalogReadsRule{Threshold: 1 << 40},
		CatalogMutations: &CatalogMutationsRule{Allowed: []string{"user:default/alice"}},
		SignInFailures:   &SignInFailuresRule{PerIP: 1 << 40, Total: 1 << 40},
	}})
	actions := []string{ActionTaskCreate, ActionEntityRead, ActionEntityDelete, ActionLoginFailed}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		e := event(i)
		e.Action = actions[i%len(actions)]
		l.Record(ctx, e)
	}
	if err := l.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	l.Close()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	if n, _ := l.Events(ctx, Query{Action: ActionAlert}); len(n.Events) > 0 {
		b.Fatalf("%d alerts fired; the benchmark means none", len(n.Events))
	}
}

// TestCatalogMutationsIgnoresRefreshes: what a catalog refresh applies is
// rigger's own change (ActorSystem): no catalogMutations alert; the person
// who registered the location is the one the rule judges.
func TestCatalogMutationsIgnoresRefreshes(t *testing.T) {
	a := newAlerter(AlertOptions{CatalogMutations: &CatalogMutationsRule{Allowed: []string{"group:default/platform-team"}}}, time.Now)
	refresh := Event{Actor: "system:catalog-refresh", ActorKind: ActorSystem, Action: ActionEntityCreate, Decision: Allow, Time: time.Now()}
	if out := a.evaluate(refresh, nil); len(out) != 0 {
		t.Fatalf("a refresh raised %+v", out)
	}
	person := Event{Actor: "user:default/mallory", ActorKind: ActorUser, Action: ActionLocationCreate, Decision: Allow, Time: time.Now()}
	if out := a.evaluate(person, nil); len(out) != 1 {
		t.Fatalf("a person's change raised %d alerts, want 1", len(out))
	}
}

// TestSetAlertsWhileRunning: rules set while the log runs (a configuration
// reload) judge the events stored from then on; events before were judged
// by the old rules (here: none).
func TestSetAlertsWhileRunning(t *testing.T) {
	st := sqliteBackend(t).open(t)
	clk := &clock{t: t0}
	l := alertLog(t, st, AlertOptions{}, clk, nil)
	ctx := context.Background()
	mut := func() {
		l.Record(ctx, Event{Actor: "user:default/alice", ActorKind: ActorUser, Ownership: []string{"user:default/alice"},
			Action: ActionLocationCreate, Target: "location:1", Decision: Allow})
	}
	mut()
	flush(t, l)
	if got := alerts(t, l); len(got) != 0 {
		t.Fatalf("alerts without rules:%s", summary(got))
	}
	l.SetAlerts(AlertOptions{CatalogMutations: &CatalogMutationsRule{Name: "catalogMutations", Allowed: []string{"group:default/platform-team"}}})
	mut()
	flush(t, l)
	if got := alerts(t, l); len(got) != 1 || got[0].Details["actor"] != "user:default/alice" {
		t.Fatalf("after SetAlerts:%s", summary(got))
	}
	l.SetAlerts(AlertOptions{})
	mut()
	flush(t, l)
	if got := alerts(t, l); len(got) != 1 {
		t.Fatalf("after the rules were removed:%s", summary(got))
	}
}
