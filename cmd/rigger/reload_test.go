package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/liveconfig"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

const usesRename = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: renamer}
spec:
  owner: team-a
  type: service
  steps:
    - id: mv
      action: fs:rename
      input: {files: [{from: a, to: b}]}
`

// TestDisabledActionsRefuseOnlyWhenChanged: under refuse-if-used a start
// is refused for an action newly disabled that a stored template uses;
// once a start with it was accepted (under warn), a start with the same
// set only warns, so a template author cannot block the next start; a
// reload that newly disables a used action is refused naming the
// template, and under warn it applies and reports it.
func TestDisabledActionsRefuseOnlyWhenChanged(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.Seed(t, st, usesRename)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfgWith := func(policy string, disabled ...string) *config.Config {
		cfg := config.Default()
		cfg.Scaffolder.DisabledActions = disabled
		cfg.Scaffolder.DisabledActionsPolicy = policy
		return cfg
	}
	startWith := func(cfg *config.Config) (string, error) {
		reg, err := actionRegistry(cfg, cfg.Scaffolder.DisabledActions)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = checkDisabledActions(ctx, cfg, st, reg, logger, &out)
		return out.String(), err
	}
	// Nothing stored yet: a used action disabled under refuse-if-used is
	// a change, refused.
	if _, err := startWith(cfgWith("refuse-if-used", "fs:rename")); err == nil || !strings.Contains(err.Error(), "fs:rename is used by template:default/renamer") {
		t.Fatalf("first start: %v", err)
	}
	// Accepted under warn: stored.
	if out, err := startWith(cfgWith("warn", "fs:rename")); err != nil || !strings.Contains(out, "warning: scaffolder.disabledActions: fs:rename is used by template:default/renamer") {
		t.Fatalf("warn start: %q %v", out, err)
	}
	// The same set again under refuse-if-used: unchanged, so only a warning.
	if out, err := startWith(cfgWith("refuse-if-used", "fs:rename")); err != nil || !strings.Contains(out, "warning: scaffolder.disabledActions: fs:rename") {
		t.Fatalf("unchanged set under refuse-if-used: %q %v", out, err)
	}
	// Adding an unused action is a change that breaks nothing.
	if _, err := startWith(cfgWith("refuse-if-used", "fs:rename", "fs:delete")); err != nil {
		t.Fatalf("adding an unused action: %v", err)
	}

	// A reload: the running set is fs:rename, fs:delete.
	running := cfgWith("warn", "fs:delete")
	reg, _ := actionRegistry(running, running.Scaffolder.DisabledActions)
	p := liveParts{st: st, actions: reg, logger: logger}
	next := cfgWith("refuse-if-used", "fs:delete", "fs:rename")
	if _, _, err := p.prepareDisabled(ctx, running, next); err == nil || !strings.Contains(err.Error(), "fs:rename is used by template:default/renamer") {
		t.Fatalf("reload under refuse-if-used: %v", err)
	}
	if _, ok := reg.Action("fs:rename"); !ok {
		t.Fatal("a refused reload switched the action off")
	}
	next.Scaffolder.DisabledActionsPolicy = "warn"
	apply, warnings, err := p.prepareDisabled(ctx, running, next)
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "fs:rename is used by template:default/renamer") {
		t.Fatalf("reload under warn: %v %v", warnings, err)
	}
	if err := apply(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Action("fs:rename"); ok || !reg.Disabled("fs:rename") {
		t.Fatal("the applied reload did not switch fs:rename off")
	}
	if got, _, _ := acceptedDisabled(ctx, st); strings.Join(got, ",") != "fs:delete,fs:rename" {
		t.Fatalf("stored after the reload: %v", got)
	}
}

// TestReloadPolicy: a reload reads the policy files again and every
// holder of the running policy decides with the new one; a policy that
// does not load refuses the reload and the old one keeps deciding.
func TestReloadPolicy(t *testing.T) {
	ctx := context.Background()
	pf := newPolicyFiles(t)
	policyFile, cfgFile, text, load, cfg, logger, policy := pf.policyFile, pf.cfgFile, pf.text, pf.load, pf.cfg, pf.logger, pf.policy
	write := pf.write
	parts := liveParts{policy: policy, catalog: &activities.Catalog{Live: activities.NewSwapped(activities.CatalogAccess{})},
		scaffold: &activities.Scaffold{Live: activities.NewSwapped(activities.ScaffoldFetch{})}, logger: logger}
	live := liveconfig.New(liveconfig.Options{Load: load, Hooks: parts.hooks()}, cfg, []byte(text))
	alice := permission.Principal{Ref: "user:default/alice", Ent: []string{"user:default/alice"}}
	allowed := func() bool {
		return policy.Authorize(alice, permission.ConfigRead, permission.SystemResource("config")).Allowed
	}
	if allowed() {
		t.Fatal("allowed under the forbid-all policy")
	}
	write(policyFile, `permit (principal is Rigger::User, action == Rigger::Action::"config.read", resource);`)
	if r := live.Reload(ctx, "signal"); !r.Accepted || !allowed() {
		t.Fatalf("after a reload with a permitting policy: %+v, allowed %v", r, allowed())
	}
	write(policyFile, `permit (principal, action == Rigger::Action::"no.such.action", resource);`)
	if r := live.Reload(ctx, "signal"); r.Accepted || !strings.Contains(r.Err.Error(), "no.such.action") || !allowed() {
		t.Fatalf("a policy that does not load: %+v, allowed %v", r, allowed())
	}
	// permission.admins through the same reload.
	write(policyFile, `forbid (principal, action, resource);`)
	write(cfgFile, text+"  admins: [user:default/alice]\n")
	if r := live.Reload(ctx, "signal"); !r.Accepted || !allowed() {
		t.Fatalf("alice made an admin: %+v, allowed %v", r, allowed())
	}
}

// TestRefusedReloadHidesEnvValues: a reload refused because a secret
// from the environment landed in a field whose value the message quotes
// (database.driver: ${DB_URL}) names the variable, never its value: the
// refusal reaches GET /api/config/effective, the audit log and the logs.
func TestRefusedReloadHidesEnvValues(t *testing.T) {
	const secret = "postgres://rigger:S3cretPassw0rd@db:5432/rigger"
	env := map[string]string{"DB_URL": secret}
	c := &cli{stdout: io.Discard, stderr: io.Discard, env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	path := filepath.Join(t.TempDir(), "rigger.yaml")
	_, err := c.rereadConfig(&cobra.Command{}, nil)(path, []byte("database:\n  driver: ${DB_URL}\n"))
	if err == nil {
		t.Fatal("a driver that is a URL was accepted")
	}
	if strings.Contains(err.Error(), "S3cretPassw0rd") || !strings.Contains(err.Error(), "database.driver") || !strings.Contains(err.Error(), "${DB_URL}") {
		t.Fatalf("refusal: %v; want it to name database.driver and ${DB_URL}, without the value", err)
	}
	// A value longer than a message quotes (cut at 80 characters) and one
	// a quoted string escapes are hidden too, and so is a start-up's error.
	env["DB_URL"] = "postgres://rigger:Sup3rS3cretPassw0rd@db.internal.example.com:5432/rigger?sslmode=verify-full&x=1"
	env["KEY"] = "line one of a \"key\"\nSECRETLINE2"
	for name, text := range map[string]string{"long": "database:\n  driver: ${DB_URL}\n", "escaped": "database:\n  driver: ${KEY}\n"} {
		_, err := c.rereadConfig(&cobra.Command{}, nil)(path, []byte(text))
		if err == nil || strings.Contains(err.Error(), "Sup3rS3cret") || strings.Contains(err.Error(), "SECRETLINE2") {
			t.Errorf("%s value: %v; want a refusal without the value", name, err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c.configPath = path
		_, err = c.loadConfig(&cobra.Command{}, nil)
		if err == nil || strings.Contains(err.Error(), "Sup3rS3cret") || strings.Contains(err.Error(), "SECRETLINE2") {
			t.Errorf("%s value at start-up: %v; want an error without the value", name, err)
		}
	}
}

// TestReloadKeepsUnchangedAlertRules: a reload that leaves audit.alerts
// as they were does not replace the rules (which would restart their
// counting windows, a gap in detection); a changed rule set does.
func TestReloadKeepsUnchangedAlertRules(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := liveParts{audit: audit.New(audit.Options{Logger: logger}), logger: logger,
		catalog:  &activities.Catalog{Live: activities.NewSwapped(activities.CatalogAccess{})},
		scaffold: &activities.Scaffold{Live: activities.NewSwapped(activities.ScaffoldFetch{})}}
	var hook *liveconfig.Hook
	for _, h := range p.hooks() {
		if h.Name == "audit alerts" {
			hook = &h
		}
	}
	if hook == nil {
		t.Fatal("no audit alerts hook")
	}
	load := func(text string) *config.Config { return loadText(t, text) }
	rules := "audit:\n  alerts:\n    signInFailures: {perIP: 5, window: 1m}\n"
	apply, _, err := hook.Prepare(context.Background(), load(rules), load(rules+"scaffolder:\n  allowedHosts: [github.com]\n"))
	if err != nil || apply != nil {
		t.Fatalf("unchanged rules: apply %v, %v; want nothing to apply", apply != nil, err)
	}
	apply, _, err = hook.Prepare(context.Background(), load(rules), load("audit:\n  alerts:\n    signInFailures: {perIP: 9, window: 1m}\n"))
	if err != nil || apply == nil {
		t.Fatalf("changed rules: apply %v, %v; want them applied", apply != nil, err)
	}
}

// TestWorkerReloadSwitchesStepsOff: on a worker (no API registry) a
// reload of scaffolder.disabledActions replaces the set its steps check
// before running, so a task resumed on that worker after the change is
// refused at the step.
func TestWorkerReloadSwitchesStepsOff(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	steps := contract.NewRegistry(nil)
	p := liveParts{m: modeWorker, logger: logger, steps: steps,
		catalog:  &activities.Catalog{Live: activities.NewSwapped(activities.CatalogAccess{})},
		scaffold: &activities.Scaffold{Live: activities.NewSwapped(activities.ScaffoldFetch{})}}
	var hook *liveconfig.Hook
	for _, h := range p.hooks() {
		if slices.Contains(h.Keys, "scaffolder.disabledActions") {
			hook = &h
		}
	}
	if hook == nil || hook.Prepare == nil {
		t.Fatalf("no worker hook applies scaffolder.disabledActions: %+v", hook)
	}
	load := func(text string) *config.Config { return loadText(t, text) }
	apply, _, err := hook.Prepare(context.Background(), load(""), load("scaffolder:\n  disabledActions: [publish:github]\n"))
	if err != nil || apply == nil {
		t.Fatalf("prepare: %v", err)
	}
	if steps.Disabled("publish:github") {
		t.Fatal("switched off before the reload was applied")
	}
	if err := apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !steps.Disabled("publish:github") || steps.Disabled("fs:write") {
		t.Fatalf("after the reload: disabled %v", steps.DisabledNames())
	}
}

// loadText is the configuration text holds, as read from a file.
func loadText(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.LoadData(filepath.Join(t.TempDir(), "rigger.yaml"), []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestAdminsSwapWithPolicyDuringSlowReload: while a slow part of a reload
// (registering the static locations) has not finished, admin checks and
// policy decisions answer at once, and with the same admin list: the new
// one, swapped next to the policy, not the old one kept until the whole
// reload is done.
func TestAdminsSwapWithPolicyDuringSlowReload(t *testing.T) {
	ctx := context.Background()
	pf := newPolicyFiles(t)
	cfgFile, text, cfg, logger, policy := pf.cfgFile, pf.text, pf.cfg, pf.logger, pf.policy
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := actionRegistry(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var admins atomic.Pointer[[]string]
	admins.Store(&cfg.Permission.Admins)
	parts := liveParts{policy: policy, admins: &admins, st: st, actions: reg, logger: logger,
		catalog:  &activities.Catalog{Live: activities.NewSwapped(activities.CatalogAccess{})},
		scaffold: &activities.Scaffold{Live: activities.NewSwapped(activities.ScaffoldFetch{})},
		locations: func(context.Context, *config.Config) error {
			close(entered)
			<-release
			return nil
		}}
	live := liveconfig.New(liveconfig.Options{Load: pf.load, Hooks: parts.hooks()}, cfg, []byte(text))
	alice := permission.Principal{Ref: "user:default/alice", Ent: []string{"user:default/alice"}}
	pf.write(cfgFile, text+"  admins: [user:default/alice]\n")
	done := make(chan liveconfig.Result)
	go func() { done <- live.Reload(ctx, "signal") }()
	<-entered
	byPolicy := policy.Authorize(alice, permission.ConfigRead, permission.SystemResource("config")).Allowed
	byList := slices.Contains(parts.liveAdmins(), alice.Ref)
	if !byPolicy || !byList {
		t.Errorf("during the slow part of the reload: alice an admin by the policy %v, by the admin checks' list %v; want both", byPolicy, byList)
	}
	if g := live.Status().Generation; g != 1 {
		t.Errorf("during the reload the status shows generation %d, want the running 1", g)
	}
	close(release)
	if r := <-done; !r.Accepted {
		t.Fatalf("reload: %+v", r)
	}
	if !slices.Contains(parts.liveAdmins(), alice.Ref) {
		t.Fatal("after the reload alice is not in the admin checks' list")
	}
}

// policyFiles is a rigger.yaml naming a forbid-all policy file, in a
// temporary folder, loaded as start-up does.
type policyFiles struct {
	policyFile, cfgFile, text string
	write                     func(path, text string)
	load                      liveconfig.Loader
	cfg                       *config.Config
	logger                    *slog.Logger
	policy                    *permission.Policy
}

func newPolicyFiles(t *testing.T) policyFiles {
	t.Helper()
	dir := t.TempDir()
	pf := policyFiles{policyFile: filepath.Join(dir, "p.cedar"), cfgFile: filepath.Join(dir, "rigger.yaml"), text: "permission:\n  policyFile: p.cedar\n",
		logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	pf.write = func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pf.load = func(path string, data []byte) (*config.Config, error) {
		cfg, err := config.LoadData(path, data, nil)
		if err != nil {
			return nil, err
		}
		return cfg, cfg.Validate()
	}
	pf.write(pf.policyFile, `forbid (principal, action, resource);`)
	pf.write(pf.cfgFile, pf.text)
	var err error
	if pf.cfg, err = pf.load(pf.cfgFile, []byte(pf.text)); err != nil {
		t.Fatal(err)
	}
	if pf.policy, err = loadPolicy(pf.cfg, pf.logger); err != nil {
		t.Fatal(err)
	}
	return pf
}
