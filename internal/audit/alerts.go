package audit

import (
	"cmp"
	"container/list"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Alert rules watch the events the Log appends and raise an alert — itself
// an audit event, ActionAlert, appended to the same chain — when one of
// them matches. The rules run on the Log's writer goroutine right after a
// batch is appended: each event costs a few map look-ups, and the counting
// rules keep at most AlertOptions.MaxTracked keys each (the key seen least
// recently is forgotten first, and with it its count), so memory stays
// bounded whatever the callers send.
//
// Each Log counts only the events it records itself: behind a load
// balancer with N rigger server replicas, one actor spread evenly over
// them reaches a counting rule's threshold on no replica until it has done
// about N times as much.

// ActionAlert is the action of an alert event; its target is the rule's
// name.
const ActionAlert = "audit.alert"

// ActorSystem is the actor kind of events rigger raises itself (alerts).
const ActorSystem = "system"

// DetailCount is the detail key of an event that stands for several acts
// (catalog.entity.read: the entities one request returned); the counting
// rules weigh the event by it (1 when absent or not a positive number).
const DetailCount = "count"

// Actions the rules watch.
const (
	ActionTaskCreate      = "scaffolder.task.create"
	ActionEntityRead      = "catalog.entity.read"
	ActionLoginFailed     = "auth.login.failed"
	ActionTokenUseDenied  = "token.use-denied"
	ActionEntityCreate    = "catalog.entity.create"
	ActionEntityUpdate    = "catalog.entity.update"
	ActionEntityDelete    = "catalog.entity.delete"
	ActionLocationCreate  = "catalog.location.create"
	ActionLocationDelete  = "catalog.location.delete"
	defaultMaxTracked     = 10000
	defaultWebhookQueue   = 100
	defaultWebhookTimeout = 10 * time.Second
	defaultWindow         = 5 * time.Minute
)

// AlertOptions configure a Log's alert rules; a nil rule is off.
type AlertOptions struct {
	OutsideHours     *OutsideHoursRule
	CatalogReads     *CatalogReadsRule
	CatalogMutations *CatalogMutationsRule
	SignInFailures   *SignInFailuresRule
	// MaxTracked is how many actors (or source IPs) each counting rule
	// keeps a count for; past it the one seen least recently is forgotten
	// [10000].
	MaxTracked int
	// Webhooks sends the rules' webhooks; required when a rule has one.
	Webhooks WebhookOptions
}

// OutsideHoursRule alerts on template runs (scaffolder.task.create)
// outside working hours.
type OutsideHoursRule struct {
	Name    string
	Webhook *Webhook
	// Location is the time zone the hours are in [UTC].
	Location *time.Location
	// Days are the working days.
	Days []time.Weekday
	// From and To are the working hours as offsets from midnight; a run at
	// From is inside, one at To outside. To before From spans midnight
	// (22:00 to 06:00), and then the day is the day the span started.
	From, To time.Duration
}

// CatalogReadsRule alerts when one actor (an anonymous caller: one source
// IP) reads more than Threshold entities within Window [5m].
type CatalogReadsRule struct {
	Name      string
	Webhook   *Webhook
	Threshold int64
	Window    time.Duration
}

// CatalogMutationsRule alerts on every allowed catalog change
// (catalog.entity.create|update|delete, catalog.location.create|delete)
// by an actor that is not in Allowed, neither by its own ref nor by one
// of its ownership refs (Event.Ownership). Refused changes are
// permission.denied events, not changes.
type CatalogMutationsRule struct {
	Name    string
	Webhook *Webhook
	// Allowed are user and group refs (group:default/platform-team).
	Allowed []string
}

// SignInFailuresRule alerts when more than PerIP failed sign-ins
// (auth.login.failed) come from one source IP, or more than Total from
// anywhere, within Window [5m]. A limit of 0 is off.
type SignInFailuresRule struct {
	Name    string
	Webhook *Webhook
	PerIP   int64
	Total   int64
	Window  time.Duration
}

// alerter evaluates the rules. Only the Log's writer goroutine uses it.
type alerter struct {
	hours     *OutsideHoursRule
	reads     *CatalogReadsRule
	mutations *CatalogMutationsRule
	allowed   map[string]bool
	signIn    *SignInFailuresRule

	readers  *tracker // actor → reads
	failures *tracker // source IP → failed sign-ins
	total    windowCount

	hooks map[string]*sender // rule name → its webhook
	now   func() time.Time
}

// alert is a raised alert and where to send it.
type alert struct {
	ev   Event
	hook *sender
}

func newAlerter(o AlertOptions, now func() time.Time) *alerter {
	if o.OutsideHours == nil && o.CatalogReads == nil && o.CatalogMutations == nil && o.SignInFailures == nil {
		return nil
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = defaultMaxTracked
	}
	a := &alerter{now: now, hooks: map[string]*sender{}}
	// Copies, with defaults filled in: the caller's rules stay as given.
	if o.OutsideHours != nil {
		r := *o.OutsideHours
		r.Name = cmp.Or(r.Name, "outsideHours")
		if r.Location == nil {
			r.Location = time.UTC
		}
		a.hours = &r
	}
	if o.CatalogReads != nil {
		r := *o.CatalogReads
		r.Name = cmp.Or(r.Name, "catalogReads")
		r.Window = cmp.Or(max(r.Window, 0), defaultWindow)
		a.reads, a.readers = &r, newTracker(o.MaxTracked)
	}
	if o.CatalogMutations != nil {
		r := *o.CatalogMutations
		r.Name = cmp.Or(r.Name, "catalogMutations")
		a.mutations, a.allowed = &r, map[string]bool{}
		for _, ref := range r.Allowed {
			a.allowed[strings.ToLower(ref)] = true
		}
	}
	if o.SignInFailures != nil {
		r := *o.SignInFailures
		r.Name = cmp.Or(r.Name, "signInFailures")
		r.Window = cmp.Or(max(r.Window, 0), defaultWindow)
		a.signIn, a.failures = &r, newTracker(o.MaxTracked)
	}
	return a
}

// evaluate appends the alerts e raises to out.
func (a *alerter) evaluate(e Event, out []alert) []alert {
	switch e.Action {
	case ActionTaskCreate:
		if r := a.hours; r != nil && !r.inside(e.Time) {
			local := e.Time.In(r.Location)
			out = append(out, a.raise(r.Name, e, fmt.Sprintf("template run by %s at %s, outside working hours", actorOf(e), local.Format("Mon 15:04 MST")),
				map[string]string{"actor": actorOf(e), "count": "1", "localTime": local.Format(time.RFC3339)}))
		}
	case ActionEntityRead:
		if r := a.reads; r != nil {
			key := actorOf(e)
			if n, fire := a.readers.get(key).add(e.Time, weight(e), r.Window, r.Threshold); fire {
				out = append(out, a.raise(r.Name, e, fmt.Sprintf("%s read %d catalog entities within %s (more than %d)", key, n, r.Window, r.Threshold),
					map[string]string{"actor": key, "count": strconv.FormatInt(n, 10), "window": r.Window.String(), "threshold": strconv.FormatInt(r.Threshold, 10)}))
			}
		}
	case ActionLoginFailed, ActionTokenUseDenied:
		// A refused token, refresh token or CLI grant is a failed sign-in
		// as much as a refused provider identity: guessing either counts.
		if r := a.signIn; r != nil {
			ip := e.SourceIP
			if ip == "" {
				ip = "unknown"
			}
			w := weight(e)
			if r.PerIP > 0 {
				if n, fire := a.failures.get(ip).add(e.Time, w, r.Window, r.PerIP); fire {
					out = append(out, a.raise(r.Name, e, fmt.Sprintf("%d failed sign-ins from %s within %s (more than %d)", n, ip, r.Window, r.PerIP),
						map[string]string{"actor": actorOf(e), "scope": "sourceIp", "sourceIp": ip, "count": strconv.FormatInt(n, 10),
							"window": r.Window.String(), "threshold": strconv.FormatInt(r.PerIP, 10)}))
				}
			}
			if r.Total > 0 {
				if n, fire := a.total.add(e.Time, w, r.Window, r.Total); fire {
					out = append(out, a.raise(r.Name, e, fmt.Sprintf("%d failed sign-ins within %s (more than %d)", n, r.Window, r.Total),
						map[string]string{"scope": "total", "count": strconv.FormatInt(n, 10), "window": r.Window.String(), "threshold": strconv.FormatInt(r.Total, 10)}))
				}
			}
		}
	case ActionEntityCreate, ActionEntityUpdate, ActionEntityDelete, ActionLocationCreate, ActionLocationDelete:
		if r := a.mutations; r != nil && e.Decision == Allow && !a.mayMutate(e) {
			out = append(out, a.raise(r.Name, e, fmt.Sprintf("%s by %s, who is in none of %v", e.Action, actorOf(e), r.Allowed),
				map[string]string{"actor": actorOf(e), "count": "1", "action": e.Action, "target": e.Target}))
		}
	}
	return out
}

func (a *alerter) mayMutate(e Event) bool {
	// rigger's own changes (a catalog refresh applying a registered
	// location) are not a person's: who registered the location is.
	if e.ActorKind == ActorSystem {
		return true
	}
	if e.Actor != "" && a.allowed[strings.ToLower(e.Actor)] {
		return true
	}
	for _, r := range e.Ownership {
		if a.allowed[strings.ToLower(r)] {
			return true
		}
	}
	return false
}

// raise builds the alert event of rule for e.
func (a *alerter) raise(rule string, e Event, reason string, details map[string]string) alert {
	details["event"] = e.ID
	details["action"] = e.Action
	return alert{hook: a.hooks[rule], ev: Event{
		Time: a.now().UTC(), ActorKind: ActorSystem, Action: ActionAlert, Target: rule, Decision: e.Decision,
		Reason: reason, RequestID: e.RequestID, SourceIP: e.SourceIP, Details: details,
	}}
}

// actorOf is whom the counting rules count e against: its actor, or for an
// anonymous caller its source IP.
func actorOf(e Event) string {
	if e.Actor != "" {
		return e.Actor
	}
	if e.SourceIP != "" {
		return "ip:" + e.SourceIP
	}
	return "anonymous"
}

// weight is how many acts e stands for.
func weight(e Event) int64 {
	if n, err := strconv.ParseInt(e.Details[DetailCount], 10, 64); err == nil && n > 0 {
		return n
	}
	return 1
}

// inside says whether t is within working hours.
func (r *OutsideHoursRule) inside(t time.Time) bool {
	local := t.In(r.Location)
	// Wall-clock time, so a day with a DST change keeps its hours.
	sinceMidnight := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute + time.Duration(local.Second())*time.Second
	day := local.Weekday()
	switch {
	case r.From <= r.To:
		return r.workday(day) && sinceMidnight >= r.From && sinceMidnight < r.To
	case sinceMidnight >= r.From: // a span over midnight, its first part
		return r.workday(day)
	case sinceMidnight < r.To: // its second part, started the day before
		return r.workday((day + 6) % 7)
	}
	return false
}

func (r *OutsideHoursRule) workday(d time.Weekday) bool {
	for _, w := range r.Days {
		if w == d {
			return true
		}
	}
	return false
}

// windowCount counts events in a sliding window the way rate limiters do,
// in O(1) time and space: the count of the current fixed window (aligned
// to multiples of the window since the Unix epoch) plus the previous
// window's count weighted by how much of it the sliding window still
// covers. So a burst split across a window boundary is still seen.
type windowCount struct {
	bucket    int64 // index of the current fixed window
	cur, prev int64
	// quietUntil: after an alert, the key raises none until a window
	// has passed (one alert per window, not one per event).
	quietUntil time.Time
}

// add counts n events at t and says whether an alert fires: the estimate
// is over limit and the key is not quiet. It returns the estimate.
func (w *windowCount) add(t time.Time, n int64, window time.Duration, limit int64) (int64, bool) {
	ns := t.UnixNano()
	b := ns / int64(window)
	switch {
	case b == w.bucket+1:
		w.prev, w.cur = w.cur, 0
	case b > w.bucket+1:
		w.prev, w.cur = 0, 0
	}
	if b > w.bucket {
		w.bucket = b
	}
	// An event older than the current window (clock skew between
	// callers) counts in the current one.
	w.cur += n
	elapsed := ns - w.bucket*int64(window)
	est := w.cur
	if elapsed >= 0 && elapsed < int64(window) {
		est += int64(float64(w.prev) * float64(int64(window)-elapsed) / float64(window))
	}
	if est <= limit || t.Before(w.quietUntil) {
		return est, false
	}
	w.quietUntil = t.Add(window)
	return est, true
}

// tracker holds a windowCount per key, at most max of them: past it, the
// key used least recently is forgotten.
type tracker struct {
	max     int
	keys    map[string]*list.Element
	order   *list.List // front: most recently used
	evicted int64
}

type tracked struct {
	key string
	wc  windowCount
}

func newTracker(max int) *tracker {
	return &tracker{max: max, keys: map[string]*list.Element{}, order: list.New()}
}

// get returns key's count, creating it (and forgetting the oldest key if
// the tracker is full).
func (t *tracker) get(key string) *windowCount {
	if el, ok := t.keys[key]; ok {
		t.order.MoveToFront(el)
		return &el.Value.(*tracked).wc
	}
	if t.order.Len() >= t.max {
		old := t.order.Back()
		t.order.Remove(old)
		delete(t.keys, old.Value.(*tracked).key)
		t.evicted++
	}
	tr := &tracked{key: key}
	t.keys[key] = t.order.PushFront(tr)
	return &tr.wc
}

// startAlerts sets up the rules of l.o.Alerts and a sender for each
// webhook.
func (l *Log) startAlerts() {
	l.alerts, l.senders = l.buildAlerts(l.o.Alerts)
}

// buildAlerts makes the rules of o and starts a sender for each webhook.
func (l *Log) buildAlerts(o AlertOptions) (*alerter, []*sender) {
	a := newAlerter(o, l.o.Now)
	if a == nil {
		return nil, nil
	}
	hooks := map[string]*Webhook{}
	if r := a.hours; r != nil {
		hooks[r.Name] = r.Webhook
	}
	if r := a.reads; r != nil {
		hooks[r.Name] = r.Webhook
	}
	if r := a.mutations; r != nil {
		hooks[r.Name] = r.Webhook
	}
	if r := a.signIn; r != nil {
		hooks[r.Name] = r.Webhook
	}
	var senders []*sender
	for name, h := range hooks {
		if h == nil || h.URL == "" {
			continue
		}
		if o.Webhooks.Client == nil {
			l.o.Logger.Error("audit alert rule has a webhook but no client to send it: its alerts are only logged", "rule", name)
			continue
		}
		s := newSender(name, *h, o.Webhooks, l.o.Logger)
		a.hooks[name] = s
		senders = append(senders, s)
	}
	return a, senders
}

// SetAlerts replaces the alert rules while the log runs (a configuration
// reload): events stored from now on are evaluated by the new rules,
// whose counts start at zero; the old rules' webhooks get what they had
// queued out (at most one webhook timeout) before they stop.
func (l *Log) SetAlerts(o AlertOptions) {
	a, senders := l.buildAlerts(o)
	l.alertMu.Lock()
	old := l.senders
	l.alerts, l.senders = a, senders
	l.alertMu.Unlock()
	for _, s := range old {
		l.retiring.Add(1)
		go func() {
			defer l.retiring.Done()
			s.stop()
		}()
	}
}

// WebhookDropped is how many alerts were not sent to their webhook because
// its queue was full (or the log closed before they went out).
func (l *Log) WebhookDropped() int64 {
	l.alertMu.Lock()
	defer l.alertMu.Unlock()
	var n int64
	for _, s := range l.senders {
		n += s.dropped.Load()
	}
	return n
}
