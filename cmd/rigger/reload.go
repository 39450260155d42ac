package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/liveconfig"
	"github.com/riggerdev/rigger/internal/mcpserver"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// configPollInterval is how often a running rigger hashes its
// configuration file to notice a change (a ConfigMap update reaches the
// pod within the kubelet's sync period, about a minute, then this).
const configPollInterval = 2 * time.Second

// liveParts are the running components a configuration reload changes.
type liveParts struct {
	m   mode
	dev bool
	st  store.Store
	// actions is the API's action registry (nil on a worker).
	actions *contract.Registry
	// steps is the registry whose disabled set the workers' steps check
	// (scaffold.Disabled); on the API it is actions.
	steps *contract.Registry
	// policy is nil when permission.enabled is false.
	policy *permission.Policy
	// admins is permission.admins as the API's admin checks read it
	// (nil on a worker): swapped next to the policy, so that a slow part
	// of a reload (registering locations) does not leave admin checks on
	// the old list while the policy decides with the new one.
	admins   *atomic.Pointer[[]string]
	catalog  *activities.Catalog
	scaffold *activities.Scaffold
	// audit is the audit log (nil when audit.enabled is false).
	audit *audit.Log
	// locations registers the static locations (nil on a worker).
	locations func(ctx context.Context, cfg *config.Config) error
	logger    *slog.Logger
	// mcp is the API's MCP server once it is built (nil before, and on a
	// worker).
	mcp func() *mcpserver.Server
}

// mcpLiveKeys are the mcp settings a reload changes in a running server;
// mcp.sessionTimeout, mcp.rateLimit and mcp.maxRequestBytes take a
// restart.
var mcpLiveKeys = []string{"mcp.enabled", "mcp.allowWrite", "mcp.allowApprovals", "mcp.tools", "mcp.dryRunWindow", "mcp.approval", "mcp.maxSessions", "mcp.maxSessionsPerUser"}

// hooks are the reload's parts: each names the settings it makes live in
// this process and swaps what its component reads at use time.
func (p liveParts) hooks() []liveconfig.Hook {
	hooks := []liveconfig.Hook{{
		Name: "catalog ingestion",
		Keys: []string{"catalog.rules", "catalog.reading", "catalog.locations"},
		Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
			a := catalogAccess(next, p.dev)
			return func(context.Context) error { p.catalog.Live.Set(a); return nil }, nil, nil
		},
	}, {
		Name: "scaffolder fetches",
		Keys: []string{"scaffolder.allowedHosts", "scaffolder.allowPrivateNetworks", "scaffolder.templates", "catalog.locations", "catalog.reading"},
		Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
			f, sources := scaffoldFetch(next), templateSources(next)
			return func(context.Context) error {
				p.scaffold.Live.Set(f)
				if p.scaffold.Trust != nil && p.scaffold.Trust.Live != nil {
					p.scaffold.Trust.Live.Set(sources)
				}
				return nil
			}, nil, nil
		},
	}, {
		// Globs and files of the new file that match nothing, as start-up
		// warns of them.
		Name: "paths",
		Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
			return nil, next.PathWarnings(filepath.Glob), nil
		},
	}}
	if p.audit != nil {
		hooks = append(hooks, liveconfig.Hook{
			Name: "audit alerts",
			Keys: []string{"audit.alerts"},
			Prepare: func(_ context.Context, cur, next *config.Config) (func(context.Context) error, []string, error) {
				if reflect.DeepEqual(cur.Audit.Alerts, next.Audit.Alerts) {
					// New rules restart their counting windows: unchanged
					// ones keep counting (no gap in detection).
					return nil, nil, nil
				}
				o, err := alertOptions(next.Audit.Alerts)
				if err != nil {
					return nil, nil, err
				}
				return func(context.Context) error { p.audit.SetAlerts(o); return nil }, nil, nil
			},
		})
	}
	if p.policy != nil {
		hooks = append(hooks, liveconfig.Hook{
			Name: "permission policy",
			Keys: []string{"permission.policyFiles", "permission.policyFile", "permission.admins"},
			Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
				np, err := loadPolicy(next, p.logger)
				if err != nil {
					return nil, nil, err
				}
				var warnings []string
				for _, w := range np.Warnings() {
					warnings = append(warnings, "permission policy: "+w)
				}
				return func(context.Context) error { p.policy.Replace(np); return nil }, warnings, nil
			},
		})
	}
	hooks = append(hooks, liveconfig.Hook{
		// The API's admin checks read p.admins (api.TokenDeps.LiveAdmins);
		// the policy hook, just before, rebuilt the policy with them.
		Name: "admins",
		Keys: []string{"permission.admins"},
		Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
			admins := slices.Clone(next.Permission.Admins)
			return func(context.Context) error {
				if p.admins != nil {
					p.admins.Store(&admins)
				}
				return nil
			}, nil, nil
		},
	})
	if p.actions == nil {
		// A worker validates no template, but its steps refuse actions
		// switched off since their task started. The other settings are
		// the API's, accepted here so that one file serves both.
		return append(hooks, liveconfig.Hook{Name: "api only", Keys: append([]string{"scaffolder.disabledActionsPolicy", "catalog.examples"}, mcpLiveKeys...)}, liveconfig.Hook{
			Name: "disabled actions",
			Keys: []string{"scaffolder.disabledActions"},
			Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
				disabled := next.Scaffolder.DisabledActions
				return func(context.Context) error {
					if p.steps != nil {
						p.steps.SetDisabled(disabled)
					}
					return nil
				}, nil, nil
			},
		})
	}
	hooks = append(hooks, liveconfig.Hook{
		Name: "mcp",
		Keys: mcpLiveKeys,
		Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
			return func(context.Context) error {
				if p.mcp != nil {
					if m := p.mcp(); m != nil {
						m.SetConfig(next.MCP)
					}
				}
				return nil
			}, nil, nil
		},
	}, liveconfig.Hook{
		Name:    "disabled actions",
		Keys:    []string{"scaffolder.disabledActions", "scaffolder.disabledActionsPolicy"},
		Prepare: p.prepareDisabled,
	}, liveconfig.Hook{
		Name: "static locations",
		Keys: []string{"catalog.locations", "scaffolder.templates", "catalog.examples"},
		Prepare: func(_ context.Context, _, next *config.Config) (func(context.Context) error, []string, error) {
			return func(ctx context.Context) error { return p.locations(ctx, next) }, nil, nil
		},
	})
	return hooks
}

// liveAdmins is permission.admins as the API's admin checks apply them
// now (api.TokenDeps.LiveAdmins).
func (p liveParts) liveAdmins() []string { return *p.admins.Load() }

// prepareDisabled reports every stored template that an action newly in
// scaffolder.disabledActions breaks: warnings, or under refuse-if-used a
// refusal. Applied, the registry switches the new set off (templates are
// validated against it from then on) and the store keeps it for the next
// start's comparison.
func (p liveParts) prepareDisabled(ctx context.Context, old, next *config.Config) (func(context.Context) error, []string, error) {
	refuse := next.Scaffolder.DisabledActionsPolicy == "refuse-if-used"
	newly := addedActions(old.Scaffolder.DisabledActions, next.Scaffolder.DisabledActions)
	breaks, err := disabledBreaks(ctx, p.st, p.actions, newly)
	var lines []string
	for _, b := range breaks {
		lines = append(lines, b.line)
	}
	switch {
	case err != nil && refuse:
		return nil, nil, err
	case err != nil:
		lines = append(lines, err.Error())
	case refuse && len(lines) > 0:
		return nil, nil, fmt.Errorf("%s\n(scaffolder.disabledActionsPolicy is refuse-if-used: change those templates first, or set it to warn)", strings.Join(lines, "\n"))
	}
	disabled := next.Scaffolder.DisabledActions
	return func(ctx context.Context) error {
		p.actions.SetDisabled(disabled)
		return rememberDisabled(ctx, p.st, disabled)
	}, lines, nil
}

// startReloads makes cfg live: a reload on SIGHUP and whenever the file's
// content changes, until ctx ends. data are the bytes cfg was read from.
func startReloads(ctx context.Context, cfg *config.Config, data []byte, reread liveconfig.Loader, p liveParts, rec audit.Recorder, out io.Writer) *liveconfig.Live {
	live := liveconfig.New(liveconfig.Options{
		Load:   reread,
		Hooks:  p.hooks(),
		Logger: p.logger.With("component", "config"),
		Record: reloadAudit(rec, out),
	}, cfg, data)
	if cfg.File != "" {
		go live.Watch(ctx, configPollInterval)
	}
	// SIGHUP always means "reload" here: without a file the reload is
	// refused and says so, instead of the signal ending the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				live.Reload(ctx, "signal")
			}
		}
	}()
	return live
}

// reloadAudit records each reload as an audit event config.reload (the
// file's hash and generation; a refusal's reasons, which name settings and
// templates, never values) and prints a refusal for whoever watches the
// process's output.
func reloadAudit(rec audit.Recorder, out io.Writer) func(ctx context.Context, r liveconfig.Result) {
	return func(ctx context.Context, r liveconfig.Result) {
		e := audit.Event{Actor: "rigger", ActorKind: "system", Action: "config.reload", Target: "config",
			Decision: audit.Allow, Details: map[string]string{"generation": fmt.Sprint(r.Generation), "sha256": r.SHA256, "trigger": r.Trigger}}
		if len(r.Changed) > 0 {
			// Which settings changed (a policy or admin list widened
			// shows here), never their values.
			e.Details["changed"] = strings.Join(r.Changed, ", ")
		}
		if !r.Accepted {
			e.Decision = audit.Deny
			e.Reason = clipReason(r.Err)
			fmt.Fprintf(out, "configuration reload refused (the running configuration is kept):\n%v\n", r.Err)
		}
		if rec != nil {
			rec.Record(ctx, e)
		}
	}
}

// clipReason bounds a refusal's text in an audit event.
func clipReason(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}
