// Package liveconfig reloads rigger.yaml while rigger runs: on a signal
// (the caller's SIGHUP) and when the file's content changes (polled by
// hash, so a Kubernetes ConfigMap update, which swaps a ..data symlink,
// is noticed like an edit).
//
// A reload reads the file once, hashes those bytes and hands them to the
// same loader start-up used (environment and flags overlay as they did
// then, and the whole configuration is validated). It is refused, and the
// running configuration kept, when the file is invalid, when a setting
// that cannot change live differs (each one named, e.g. "server.listen
// cannot change without a restart"), or when a component's Prepare
// refuses it (a policy file that does not parse, a disabled action in use
// under refuse-if-used). Otherwise every component's prepared change is
// applied, and the generation goes up by one.
//
// Components register Hooks; each reads the live value at use time from
// something of its own (an atomic pointer it swaps in Apply), never from a
// package variable. This package holds no mutable package state and reads
// no file but the configuration file it is given.
package liveconfig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/config"
)

// Loader turns the bytes read from path into a validated configuration,
// exactly as start-up did.
type Loader func(path string, data []byte) (*config.Config, error)

// Hook is one component's part in a reload.
type Hook struct {
	// Name labels the component in logs and the status (e.g. "policy").
	Name string
	// Keys are the dotted settings it makes live (scaffolder.disabledActions).
	// A difference in any other setting refuses the reload.
	Keys []string
	// Prepare checks next and builds what Apply installs; an error refuses
	// the reload (nothing is applied). Warnings are logged and shown in the
	// status. old is the running configuration. Prepare may be nil.
	Prepare func(ctx context.Context, old, next *config.Config) (apply func(ctx context.Context) error, warnings []string, err error)
}

// Options configure a Live.
type Options struct {
	// Load re-reads the configuration.
	Load Loader
	// Hooks take the parts of an accepted change.
	Hooks []Hook
	// Logger gets one line per reload (accepted or refused).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Record, when set, is told of each reload (an audit event): accepted
	// or not, with the reason of a refusal.
	Record func(ctx context.Context, r Result)
}

// Live is the running configuration and the record of its reloads.
type Live struct {
	o Options

	// reloadMu serialises reloads (a slow hook, such as registering
	// locations, holds it, not mu); only a reload writes cur and status,
	// under both.
	reloadMu sync.Mutex
	lastSeen string // hash of the file last read (accepted or refused); reloadMu

	mu     sync.Mutex // guards cur and status for readers
	cur    *config.Config
	status Status
}

// Status is what GET /api/config/effective shows besides the configuration.
type Status struct {
	// Generation is 1 for the configuration rigger started with, and one
	// more for each accepted reload.
	Generation int64 `json:"generation"`
	// LoadedAt is when that generation was accepted.
	LoadedAt time.Time `json:"loadedAt"`
	// File is the configuration file ("" when rigger runs without one).
	File string `json:"file"`
	// SHA256 is the hex SHA-256 of the file's bytes of that generation.
	SHA256 string `json:"sha256"`
	// Trigger is what caused that generation: start, signal or file.
	Trigger string `json:"trigger"`
	// Live lists the settings a reload changes; every other one needs a
	// restart.
	Live []string `json:"live"`
	// Warnings are those of the reload of this generation (templates a
	// newly disabled action breaks, a location that did not register).
	Warnings []string `json:"warnings,omitempty"`
	// LastRefusal is the last reload refused since start, if any; it is
	// kept after a later accepted one (its At says which came last).
	LastRefusal *Refusal `json:"lastRefusal,omitempty"`
}

// Refusal is a reload that was not applied.
type Refusal struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"`
	SHA256  string    `json:"sha256,omitempty"`
	// Errors say what is wrong, one per line of the validation or per
	// setting that cannot change live.
	Errors []string `json:"errors"`
}

// Result is the outcome of one reload.
type Result struct {
	Accepted bool
	// Generation is the new one when accepted, the running one otherwise.
	Generation int64
	SHA256     string
	Trigger    string
	Warnings   []string
	// Changed are the settings (dotted keys) an accepted reload changed,
	// for the audit record: names, never values.
	Changed []string
	// Err is the reason for a refusal (nil when accepted).
	Err error
}

// New returns a Live over the configuration rigger started with. data
// are the bytes of cfg.File it was loaded from (nil without a file): their
// hash is generation 1's.
func New(o Options, cfg *config.Config, data []byte) *Live {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Live{o: o, cur: cfg}
	sum := ""
	if cfg.File != "" {
		sum = hash(data)
	}
	l.lastSeen = sum
	l.status = Status{Generation: 1, LoadedAt: o.Now(), File: cfg.File, SHA256: sum, Trigger: "start", Live: liveKeys(o.Hooks)}
	return l
}

// Current is the configuration of the current generation. Callers must not
// change it.
func (l *Live) Current() *config.Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// Status is a copy of the current status.
func (l *Live) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statusLocked()
}

// statusLocked is Status with l.mu held.
func (l *Live) statusLocked() Status {
	s := l.status
	s.Live = slices.Clone(s.Live)
	s.Warnings = slices.Clone(s.Warnings)
	if s.LastRefusal != nil {
		r := *s.LastRefusal
		r.Errors = slices.Clone(r.Errors)
		s.LastRefusal = &r
	}
	return s
}

// Reload reads the file and applies it if it is acceptable; trigger says
// why ("signal", "file"). Without a configuration file there is nothing to
// reload, which is an error.
func (l *Live) Reload(ctx context.Context, trigger string) Result {
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()
	file := l.cur.File
	if file == "" {
		return l.refuse(ctx, trigger, "", errors.New("rigger started without a configuration file: there is nothing to reload (start it with --config or RIGGER_CONFIG)"))
	}
	data, err := config.ReadFile(file)
	if err != nil {
		return l.refuse(ctx, trigger, "", err)
	}
	return l.reload(ctx, trigger, data)
}

// reload is Reload of data already read; l.reloadMu is held.
func (l *Live) reload(ctx context.Context, trigger string, data []byte) Result {
	sum := hash(data)
	l.lastSeen = sum
	next, err := l.o.Load(l.cur.File, data)
	if err != nil {
		return l.refuse(ctx, trigger, sum, err)
	}
	if fixed := l.restartOnly(next); len(fixed) > 0 {
		var es []error
		for _, k := range fixed {
			es = append(es, fmt.Errorf("%s cannot change without a restart", k))
		}
		return l.refuse(ctx, trigger, sum, errors.Join(es...))
	}
	var applies []func(context.Context) error
	var names []string
	var warnings, refusals []string
	for _, h := range l.o.Hooks {
		if h.Prepare == nil {
			continue
		}
		apply, ws, err := h.Prepare(ctx, l.cur, next)
		warnings = append(warnings, ws...)
		if err != nil {
			refusals = append(refusals, err.Error())
			continue
		}
		if apply != nil {
			applies = append(applies, apply)
			names = append(names, h.Name)
		}
	}
	if len(refusals) > 0 {
		return l.refuse(ctx, trigger, sum, errors.New(strings.Join(append(refusals, warnings...), "\n")))
	}
	for i, apply := range applies {
		// Prepare did what can fail; what still fails here (a location
		// that cannot be registered now) is a warning: the rest applied.
		if err := apply(ctx); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %v", names[i], err))
		}
	}
	var changed []string
	diff(reflect.ValueOf(*l.cur), reflect.ValueOf(*next), "", nil, &changed)
	l.mu.Lock()
	l.cur = next
	l.status.Generation++
	l.status.LoadedAt = l.o.Now()
	l.status.SHA256 = sum
	l.status.Trigger = trigger
	l.status.Warnings = warnings
	r := Result{Accepted: true, Generation: l.status.Generation, SHA256: sum, Trigger: trigger, Warnings: warnings, Changed: changed}
	l.mu.Unlock()
	l.o.Logger.Info("configuration reloaded", "file", next.File, "generation", r.Generation, "sha256", sum, "trigger", trigger)
	for _, w := range warnings {
		l.o.Logger.Warn("configuration reload: " + w)
	}
	if l.o.Record != nil {
		l.o.Record(ctx, r)
	}
	return r
}

// refuse records a refused reload and keeps everything as it was;
// l.reloadMu is held.
func (l *Live) refuse(ctx context.Context, trigger, sum string, err error) Result {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	lines = slices.DeleteFunc(lines, func(s string) bool { return s == "" })
	l.mu.Lock()
	l.status.LastRefusal = &Refusal{At: l.o.Now(), Trigger: trigger, SHA256: sum, Errors: lines}
	r := Result{Generation: l.status.Generation, SHA256: sum, Trigger: trigger, Err: err}
	l.mu.Unlock()
	l.o.Logger.Error("configuration reload refused; the running configuration is kept", "file", l.cur.File,
		"generation", r.Generation, "sha256", sum, "trigger", trigger, "errors", lines)
	if l.o.Record != nil {
		l.o.Record(ctx, r)
	}
	return r
}

// Watch polls the configuration file every interval until ctx ends and
// reloads when its content's hash differs from the one last read
// (accepted or refused: a broken file is reported once, not every poll).
// A file that cannot be read is logged once per change of error and
// retried. Without a configuration file Watch returns at once.
func (l *Live) Watch(ctx context.Context, interval time.Duration) {
	file := l.Current().File
	if file == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := config.ReadFile(file)
		if err != nil {
			// Between the removal of an old ..data and its new target a
			// read may fail; the next poll sees the new file.
			if err.Error() != lastErr {
				l.o.Logger.Warn("configuration file cannot be read; the running configuration is kept", "file", file, "error", err)
				lastErr = err.Error()
			}
			continue
		}
		lastErr = ""
		l.reloadMu.Lock()
		if hash(data) != l.lastSeen {
			l.reload(ctx, "file", data)
		}
		l.reloadMu.Unlock()
	}
}

// restartOnly lists the settings (dotted keys) that differ between the
// running configuration and next, other than the live ones.
func (l *Live) restartOnly(next *config.Config) []string {
	live := map[string]bool{}
	for _, k := range l.status.Live {
		live[k] = true
	}
	var out []string
	diff(reflect.ValueOf(*l.cur), reflect.ValueOf(*next), "", live, &out)
	return out
}

// diff appends the dotted key paths (yaml names) under which a and b
// differ, skipping live keys and anything not in the file (yaml:"-"). A
// list or map that differs is named as a whole.
func diff(a, b reflect.Value, prefix string, live map[string]bool, out *[]string) {
	if live[prefix] {
		return
	}
	if a.Kind() != reflect.Struct {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, prefix)
		}
		return
	}
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		diff(a.Field(i), b.Field(i), key, live, out)
	}
}

// liveKeys are the keys the hooks make live, sorted.
func liveKeys(hooks []Hook) []string {
	var out []string
	for _, h := range hooks {
		out = append(out, h.Keys...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Hash is the hex SHA-256 of data, as Status.SHA256 shows it.
func Hash(data []byte) string { return hash(data) }

func hash(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Effective is the running configuration, every secret redacted, with its
// status: what GET /api/config/effective answers.
type Effective struct {
	Status
	// Config is the configuration in rigger.yaml's shape (every key,
	// defaults included), as `rigger config check` prints it.
	Config map[string]any `json:"config"`
}

// Effective renders the current generation.
func (l *Live) Effective() (Effective, error) {
	l.mu.Lock()
	cur := l.cur
	e := Effective{Status: l.statusLocked()}
	l.mu.Unlock()
	text, err := cur.Redacted()
	if err != nil {
		return Effective{}, err
	}
	if err := yaml.Unmarshal(text, &e.Config); err != nil {
		return Effective{}, fmt.Errorf("render config: %w", err)
	}
	return e, nil
}
