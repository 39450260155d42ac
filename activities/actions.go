package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/tracing"
	"github.com/riggerdev/rigger/templates"
)

// ActionFunc is one scaffolder action as an activity.
type ActionFunc func(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error)

// SecretSource gives action activities the secrets of their task (see
// internal/secretbox).
type SecretSource interface {
	Get(ctx context.Context, taskID string) (map[string]string, error)
	Forget(ctx context.Context, taskID string) error
}

// Actions returns every action this worker implements, by action id, each
// wrapped so that it resolves secret references in its input just before
// it runs and redacts secret values from its output, logs and errors.
func (s *Scaffold) Actions() map[string]ActionFunc {
	out := make(map[string]ActionFunc, len(actionNames))
	for _, name := range actionNames {
		out[name] = s.action(name)
	}
	return out
}

// actionNames are the actions implemented here.
var actionNames = []string{
	"debug:log", "fs:write", "fs:delete", "fs:rename", "fetch:plain", "fetch:plain:file",
	"fetch:template", "fetch:cookiecutter", "catalog:write", "catalog:fetch", "catalog:register",
}

// action returns one wrapped action, or nil.
func (s *Scaffold) action(name string) ActionFunc {
	var impl ActionFunc
	switch name {
	case "debug:log":
		impl = s.DebugLog
	case "fs:write":
		impl = s.FsWrite
	case "fs:delete":
		impl = s.FsDelete
	case "fs:rename":
		impl = s.FsRename
	case "fetch:plain":
		impl = s.FetchPlain
	case "fetch:plain:file":
		impl = s.FetchPlainFile
	case "fetch:template":
		impl = s.FetchTemplate
	case "fetch:cookiecutter":
		impl = s.FetchCookiecutter
	case "catalog:write":
		impl = s.CatalogWrite
	case "catalog:fetch":
		impl = s.CatalogFetch
	case "catalog:register":
		impl = s.CatalogRegister
	default:
		return nil
	}
	return s.wrap(name, impl)
}

func (s *Scaffold) wrap(name string, impl ActionFunc) ActionFunc {
	return func(ctx context.Context, in contract.ActionInput) (_ contract.ActionOutput, err error) {
		// Heartbeats: a step lost with its worker is retried within
		// seconds (the workflow sets contract.HeartbeatTimeout).
		ctx, prog := withProgress(ctx)
		defer keepAlive(ctx, prog.get)()
		s.executed(ctx, name, in)
		start := time.Now()
		defer func() { s.Metrics.Step(name, err, time.Since(start)) }()
		tracing.Tag(ctx, tracing.TaskID.String(in.TaskID), tracing.StepID.String(in.StepID), tracing.Action.String(name))
		var secrets map[string]string
		if in.Secrets {
			if s.Secrets == nil {
				return contract.ActionOutput{}, invalid(errors.New("this task has secrets but this worker has no secret store (scaffolder.secretKey)"))
			}
			var err error
			secrets, err = s.Secrets.Get(ctx, in.TaskID)
			if errors.Is(err, errs.ErrNotFound) {
				return contract.ActionOutput{}, invalid(err)
			}
			if err != nil {
				return contract.ActionOutput{}, fmt.Errorf("read task secrets: %w", err)
			}
		}
		resolved, err := resolveSecretRefs(in.Input, secrets, in.SecretNonce)
		if err != nil {
			return contract.ActionOutput{}, invalid(err)
		}
		in.Input, _ = resolved.(map[string]any)
		var taint *templates.Taint
		if len(secrets) > 0 {
			// What this action renders from a secret (a skeleton) and what
			// earlier steps did stays secret too.
			derived, err := s.Workspaces.loadDerived(in.TaskID)
			if err != nil {
				return contract.ActionOutput{}, err
			}
			taint = templates.NewTaint(secrets, derived)
			ctx = templates.ContextWithTaint(ctx, taint)
		}
		out, err := impl(ctx, in)
		if taint != nil {
			if serr := s.Workspaces.addDerived(in.TaskID, taint.Added()); serr != nil {
				// Without the record a later step could show them.
				return contract.ActionOutput{}, fmt.Errorf("keep the values derived from the task's secrets: %w", serr)
			}
			out.Output, _ = taint.RedactValue(out.Output).(map[string]any)
			for i, l := range out.Logs {
				out.Logs[i] = taint.Redact(l)
			}
			err = redactError(err, taint)
		}
		out.Logs = boundLogs(out.Logs, maxActionLogBytes)
		if err == nil {
			if b, _ := json.Marshal(out.Output); len(b) > maxActionOutputBytes {
				return contract.ActionOutput{Logs: out.Logs}, invalid(fmt.Errorf("the output of %s is %d bytes; at most %d fit in a run's history", name, len(b), maxActionOutputBytes))
			}
		}
		return out, err
	}
}

// What one action may hand back: it is recorded in the run's history,
// whose payloads Temporal limits to a few MiB.
const (
	maxLogLine           = 16 << 10
	maxActionLogBytes    = 256 << 10
	maxActionOutputBytes = 512 << 10
)

// boundLogs cuts long lines and drops lines past max bytes, saying so.
func boundLogs(logs []string, max int) []string {
	total := 0
	for i, l := range logs {
		if len(l) > maxLogLine {
			l = l[:maxLogLine] + " … (line cut)"
			logs[i] = l
		}
		if total += len(l); total > max {
			return append(logs[:i:i], fmt.Sprintf("… %d more log lines not kept (over %d bytes)", len(logs)-i, max))
		}
	}
	return logs
}

// ForgetSecrets implements contract.ScaffoldForgetSecrets.
func (s *Scaffold) ForgetSecrets(ctx context.Context, taskID string) error {
	if s.Secrets == nil {
		return nil
	}
	return s.Secrets.Forget(ctx, taskID)
}

const secretRefPrefix = contract.SecretRefPrefix

// resolveSecretRefs replaces every contract.SecretRef of this task (its
// nonce) in the strings of v with the secret's value. A reference to a
// secret the task does not have, one that is not this task's (forged, or
// from another task) and one a filter mangled are errors; nothing is
// resolved then.
func resolveSecretRefs(v any, secrets map[string]string, nonce string) (any, error) {
	own := secretRefPrefix + nonce + ":"
	return mapStrings(v, func(x string) (string, error) {
		if !strings.Contains(x, secretRefPrefix) {
			if strings.Contains(strings.ToLower(x), secretRefPrefix) || (nonce != "" && strings.Contains(x, "rigger-secret:"+nonce)) {
				return "", errors.New("a secret was changed by a filter (upper, dump, urlencode, ...); secrets can only be used as they are")
			}
			return x, nil
		}
		var b strings.Builder
		rest := x
		for {
			i := strings.Index(rest, secretRefPrefix)
			if i < 0 {
				b.WriteString(rest)
				return b.String(), nil
			}
			if nonce == "" || !strings.HasPrefix(rest[i:], own) {
				return "", errors.New("the input holds a secret reference that is not this task's; it was not resolved")
			}
			b.WriteString(rest[:i])
			rest = rest[i+len(own):]
			j := strings.IndexByte(rest, 0)
			if j < 0 {
				return "", errors.New("a secret reference was cut by a filter; use secrets as whole values")
			}
			val, ok := secrets[rest[:j]]
			if !ok {
				return "", fmt.Errorf("secrets.%s was not given with this task", rest[:j])
			}
			b.WriteString(val)
			rest = rest[j+1:]
		}
	})
}

// mapStrings returns a copy of v (a JSON-shaped value) with fn applied to
// every string; map keys are visited in order, so the first error is
// always the same one.
func mapStrings(v any, fn func(string) (string, error)) (any, error) {
	switch x := v.(type) {
	case string:
		return fn(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := mapStrings(e, fn)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			r, err := mapStrings(x[k], fn)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// redactError returns err with secret values (and values derived from
// them) removed from its message,
// keeping whether it may be retried.
func redactError(err error, taint *templates.Taint) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := taint.Redact(msg)
	if clean == msg {
		return err
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return temporal.NewNonRetryableApplicationError(clean, app.Type(), nil)
	}
	return temporal.NewApplicationError(clean, "ActionFailed")
}

// maskSecretRefs replaces secret references in v with templates.Redacted.
func maskSecretRefs(v any) any {
	out, _ := mapStrings(v, func(x string) (string, error) {
		for {
			i := strings.Index(x, secretRefPrefix)
			if i < 0 {
				return x, nil
			}
			j := strings.IndexByte(x[i+len(secretRefPrefix):], 0)
			if j < 0 {
				return x[:i] + templates.Redacted, nil
			}
			x = x[:i] + templates.Redacted + x[i+len(secretRefPrefix)+j+1:]
		}
	})
	return out
}

// RunLocalStep implements contract.ScaffoldRunLocalStep: it renders the
// step and runs its action for every item, as one local activity.
func (s *Scaffold) RunLocalStep(ctx context.Context, in contract.LocalStepInput) (contract.LocalStepOutput, error) {
	var out contract.LocalStepOutput
	rendered, err := s.Render(ctx, in.Render)
	if err != nil {
		return out, err
	}
	if rendered.Skip {
		out.Skip = true
		return out, nil
	}
	fn := s.action(in.Action)
	if fn == nil {
		return out, invalid(fmt.Errorf("action %s is not implemented by this worker", in.Action))
	}
	for _, item := range rendered.Items {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		ai := in.Base
		ai.Input = item.Input
		res, err := fn(ctx, ai)
		out.Logs = boundLogs(append(out.Logs, res.Logs...), maxActionLogBytes)
		if err != nil {
			return out, err
		}
		out.Output = res.Output
	}
	return out, nil
}
