package liveconfig

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/config"
)

// load is start-up's loader minus cmd/rigger's extra checks: decode and
// validate.
func load(path string, data []byte) (*config.Config, error) {
	cfg, err := config.LoadData(path, data, nil)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

const base = `
server:
  listen: 127.0.0.1:7101
scaffolder:
  disabledActions: [fs:delete]
`

// disabledHook makes scaffolder.disabledActions live the way a component
// does: an atomic value swapped on apply.
func disabledHook(into *atomic.Pointer[[]string], refuse func(next []string) error) Hook {
	return Hook{Name: "actions", Keys: []string{"scaffolder.disabledActions"},
		Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
			if refuse != nil {
				if err := refuse(next.Scaffolder.DisabledActions); err != nil {
					return nil, nil, err
				}
			}
			d := slices.Clone(next.Scaffolder.DisabledActions)
			return func(context.Context) error { into.Store(&d); return nil }, nil, nil
		}}
}

// start writes text to a rigger.yaml in a temp dir and returns a Live over
// it as start-up would build it.
func start(t *testing.T, text string, hooks ...Hook) (*Live, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rigger.yaml")
	writeFile(t, path, text)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := load(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Load: load, Hooks: hooks}, cfg, data), path
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReloadAppliesValidChangeAndCountsGenerations(t *testing.T) {
	var disabled atomic.Pointer[[]string]
	l, path := start(t, base, disabledHook(&disabled, nil))
	s := l.Status()
	if s.Generation != 1 || s.Trigger != "start" || s.SHA256 != Hash([]byte(base)) || s.File != path {
		t.Fatalf("start status: %+v", s)
	}
	if !slices.Equal(s.Live, []string{"scaffolder.disabledActions"}) {
		t.Fatalf("live: %v", s.Live)
	}
	next := strings.Replace(base, "[fs:delete]", "[fs:delete, fs:rename]", 1)
	writeFile(t, path, next)
	r := l.Reload(context.Background(), "signal")
	if !r.Accepted || r.Err != nil || r.Generation != 2 {
		t.Fatalf("reload: %+v", r)
	}
	if !slices.Equal(r.Changed, []string{"scaffolder.disabledActions"}) {
		t.Fatalf("changed settings: %v, want scaffolder.disabledActions", r.Changed)
	}
	if got := *disabled.Load(); !slices.Equal(got, []string{"fs:delete", "fs:rename"}) {
		t.Fatalf("applied: %v", got)
	}
	if got := l.Current().Scaffolder.DisabledActions; !slices.Equal(got, []string{"fs:delete", "fs:rename"}) {
		t.Fatalf("current: %v", got)
	}
	s = l.Status()
	if s.Generation != 2 || s.SHA256 != Hash([]byte(next)) || s.Trigger != "signal" || s.LastRefusal != nil {
		t.Fatalf("status after reload: %+v", s)
	}
	// A signal reloads even an unchanged file (policy files may have
	// changed): another generation.
	if r := l.Reload(context.Background(), "signal"); !r.Accepted || r.Generation != 3 || len(r.Changed) != 0 {
		t.Fatalf("second reload: %+v", r)
	}
}

func TestReloadRefusesInvalidFileAndKeepsRunningConfig(t *testing.T) {
	var disabled atomic.Pointer[[]string]
	l, path := start(t, base, disabledHook(&disabled, nil))
	for name, text := range map[string]string{
		"bad yaml":      "scaffolder: [\n",
		"unknown key":   base + "  disabledActionz: [x]\n",
		"invalid value": strings.Replace(base, "scaffolder:", "scaffolder:\n  disabledActionsPolicy: sometimes", 1),
	} {
		t.Run(name, func(t *testing.T) {
			writeFile(t, path, text)
			r := l.Reload(context.Background(), "signal")
			if r.Accepted || r.Err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			s := l.Status()
			if s.Generation != 1 || s.SHA256 != Hash([]byte(base)) {
				t.Fatalf("generation changed: %+v", s)
			}
			if s.LastRefusal == nil || s.LastRefusal.SHA256 != Hash([]byte(text)) || len(s.LastRefusal.Errors) == 0 {
				t.Fatalf("refusal: %+v", s.LastRefusal)
			}
			if disabled.Load() != nil {
				t.Fatal("a hook applied a refused file")
			}
			if got := l.Current().Scaffolder.DisabledActions; !slices.Equal(got, []string{"fs:delete"}) {
				t.Fatalf("running config changed: %v", got)
			}
		})
	}
	// The refusal names the problem and where.
	writeFile(t, path, strings.Replace(base, "scaffolder:", "scaffolder:\n  disabledActionsPolicy: sometimes", 1))
	r := l.Reload(context.Background(), "signal")
	if msg := strings.Join(l.Status().LastRefusal.Errors, "\n"); !strings.Contains(msg, "scaffolder.disabledActionsPolicy") || r.Err == nil {
		t.Fatalf("refusal does not name the key: %q", msg)
	}
}

func TestReloadRefusesRestartOnlySettingsNamingThem(t *testing.T) {
	var disabled atomic.Pointer[[]string]
	l, path := start(t, base, disabledHook(&disabled, nil))
	next := strings.Replace(base, "7101", "7102", 1)
	next = strings.Replace(next, "[fs:delete]", "[fs:rename]", 1) + "database:\n  maxOpenConns: 3\n"
	writeFile(t, path, next)
	r := l.Reload(context.Background(), "signal")
	if r.Accepted {
		t.Fatal("a change of server.listen was accepted")
	}
	errs := l.Status().LastRefusal.Errors
	want := []string{"server.listen cannot change without a restart", "database.maxOpenConns cannot change without a restart"}
	if !slices.Equal(errs, want) {
		t.Fatalf("refusal: %q, want %q", errs, want)
	}
	if disabled.Load() != nil || l.Status().Generation != 1 {
		t.Fatal("the live part of a refused file was applied")
	}
}

func TestReloadRefusedByHookAppliesNothing(t *testing.T) {
	var disabled, other atomic.Pointer[[]string]
	refuse := func(next []string) error {
		if slices.Contains(next, "fs:rename") {
			return errors.New("scaffolder.disabledActions: fs:rename is used by template:default/a")
		}
		return nil
	}
	// The first hook would apply; the second refuses: neither applies.
	first := disabledHook(&other, nil)
	first.Name, first.Keys = "first", []string{"scaffolder.allowedHosts"}
	l, path := start(t, base, first, disabledHook(&disabled, refuse))
	writeFile(t, path, strings.Replace(base, "[fs:delete]", "[fs:rename]", 1))
	r := l.Reload(context.Background(), "file")
	if r.Accepted || !strings.Contains(r.Err.Error(), "fs:rename is used by template:default/a") {
		t.Fatalf("reload: %+v", r)
	}
	if disabled.Load() != nil || other.Load() != nil {
		t.Fatal("a hook applied although another refused")
	}
}

func TestWatchNoticesConfigMapStyleSymlinkSwap(t *testing.T) {
	// A ConfigMap volume: rigger.yaml -> ..data/rigger.yaml, ..data ->
	// ..<timestamp>; an update writes a new timestamped folder and renames
	// a new ..data symlink over the old one.
	dir := t.TempDir()
	v1 := filepath.Join(dir, "..2026_01_01_v1")
	if err := os.Mkdir(v1, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(v1, "rigger.yaml"), base)
	if err := os.Symlink("..2026_01_01_v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rigger.yaml")
	if err := os.Symlink("..data/rigger.yaml", path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	cfg, err := load(path, data)
	if err != nil {
		t.Fatal(err)
	}
	var disabled atomic.Pointer[[]string]
	var refused atomic.Int32
	record := func(_ context.Context, r Result) {
		if !r.Accepted {
			refused.Add(1)
		}
	}
	l := New(Options{Load: load, Hooks: []Hook{disabledHook(&disabled, nil)}, Record: record}, cfg, data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { l.Watch(ctx, 20*time.Millisecond); close(done) }()

	v2 := filepath.Join(dir, "..2026_01_01_v2")
	if err := os.Mkdir(v2, 0o700); err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(base, "[fs:delete]", "[fs:delete, catalog:register]", 1)
	writeFile(t, filepath.Join(v2, "rigger.yaml"), next)
	if err := os.Symlink("..2026_01_01_v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return l.Status().Generation == 2 })
	s := l.Status()
	if s.Trigger != "file" || s.SHA256 != Hash([]byte(next)) {
		t.Fatalf("status: %+v", s)
	}
	if got := *disabled.Load(); !slices.Equal(got, []string{"fs:delete", "catalog:register"}) {
		t.Fatalf("applied: %v", got)
	}

	// A broken update is refused once and not retried every poll.
	writeFile(t, filepath.Join(v2, "rigger.yaml"), "scaffolder: [\n")
	waitFor(t, func() bool { return l.Status().LastRefusal != nil })
	time.Sleep(100 * time.Millisecond) // not a wait: lets five more polls see the same broken file
	cancel()
	<-done
	if refused := refused.Load(); refused != 1 || l.Status().Generation != 2 {
		t.Fatalf("refusals recorded: %d (want 1), generation %d", refused, l.Status().Generation)
	}
}

func TestReloadWithoutFileIsRefused(t *testing.T) {
	l := New(Options{Load: load}, config.Default(), nil)
	r := l.Reload(context.Background(), "signal")
	if r.Accepted || !strings.Contains(r.Err.Error(), "without a configuration file") {
		t.Fatalf("reload: %+v", r)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEffectiveRedactsSecrets(t *testing.T) {
	const secret = "Rel0ad-s3cret-that-must-never-show-0123456789"
	text := base + "auth:\n  serviceTokens:\n    - name: ci\n      token: " + secret + "\n      scopes: [catalog.read]\n"
	l, _ := start(t, text)
	e, err := l.Effective()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) || !strings.Contains(string(b), "[redacted]") {
		t.Fatalf("body: %s", b)
	}
	if e.Generation != 1 || e.SHA256 != Hash([]byte(text)) || e.Config["server"].(map[string]any)["listen"] != "127.0.0.1:7101" {
		t.Fatalf("effective: %+v", e)
	}
}

// TestStatusAnswersDuringSlowReload: a hook that takes long (registering
// locations with Temporal) does not hold up the effective-config endpoint,
// which shows the running generation until the reload is done.
func TestStatusAnswersDuringSlowReload(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := Hook{Name: "slow", Keys: []string{"scaffolder.disabledActions"},
		Prepare: func(context.Context, *config.Config, *config.Config) (func(context.Context) error, []string, error) {
			return func(context.Context) error { close(entered); <-release; return nil }, nil, nil
		}}
	l, path := start(t, base, slow)
	writeFile(t, path, strings.Replace(base, "[fs:delete]", "[fs:rename]", 1))
	done := make(chan Result)
	go func() { done <- l.Reload(context.Background(), "signal") }()
	<-entered
	if s := l.Status(); s.Generation != 1 {
		t.Fatalf("during the reload: generation %d", s.Generation)
	}
	if _, err := l.Effective(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if r := <-done; !r.Accepted || l.Status().Generation != 2 {
		t.Fatalf("after the reload: %+v", r)
	}
}

// TestCurrentAnswersDuringSlowPrepare: a hook whose check of the new file
// takes long (a policy file on a slow disk, an identity provider's
// discovery) holds up no reader of the running configuration, such as an
// admin check: it answers at once with the running generation's values.
func TestCurrentAnswersDuringSlowPrepare(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := Hook{Name: "slow", Keys: []string{"scaffolder.disabledActions"},
		Prepare: func(context.Context, *config.Config, *config.Config) (func(context.Context) error, []string, error) {
			close(entered)
			<-release
			return nil, nil, nil
		}}
	l, path := start(t, base, slow)
	before := l.Current().Scaffolder.DisabledActions
	writeFile(t, path, strings.Replace(base, "[fs:delete]", "[fs:rename]", 1))
	done := make(chan Result)
	go func() { done <- l.Reload(context.Background(), "signal") }()
	<-entered
	if got := l.Current().Scaffolder.DisabledActions; !slices.Equal(got, before) {
		t.Errorf("during the reload's checks: %v, want the running %v", got, before)
	}
	close(release)
	if r := <-done; !r.Accepted || !slices.Equal(l.Current().Scaffolder.DisabledActions, []string{"fs:rename"}) {
		t.Fatalf("after the reload: %+v, %v", r, l.Current().Scaffolder.DisabledActions)
	}
}
