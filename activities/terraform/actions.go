package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/aws"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/sandbox"
)

// Action ids.
const (
	ActionPlan    = "terraform:plan"
	ActionApply   = "terraform:apply"
	ActionOutput  = "terraform:output"
	ActionDestroy = "terraform:destroy"
)

// Error types of the failures no retry can fix.
const (
	// InvalidInputType: the step's input is wrong (a dir outside the
	// workspace, a malformed variable).
	InvalidInputType = "InvalidInput"
	// ForbiddenType: the action ran outside a verified step.
	ForbiddenType = "Forbidden"
	// PlanMismatchType: apply found no plan file, or one whose checksum is
	// not the plan step's.
	PlanMismatchType = "PlanMismatch"
	// TerraformFailedType: apply or destroy failed part-way; a retry would
	// act on a state nobody has looked at.
	TerraformFailedType = "TerraformFailed"
	// SandboxUnavailableType: the kernel cannot confine terraform and
	// scaffolder.sandbox.required refuses to run it unconfined.
	SandboxUnavailableType = "SandboxUnavailable"
)

// Redacted replaces a sensitive output's value.
const Redacted = "[redacted]"

// DefaultPath is the PATH terraform gets (for local-exec provisioners and
// credential helpers).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxLogText bounds the terraform text (a plan, an apply's progress) one
// step log line carries.
const maxLogText = 64 << 10

// Options are the integration's dependencies.
type Options struct {
	// Logger gets one line per terraform command (nil: discard).
	Logger *slog.Logger
	// TempDir holds each action's private directory: HOME, TMPDIR, the CLI
	// config ("": os.TempDir).
	TempDir string
	// Path is terraform's PATH ("": DefaultPath).
	Path string
	// AWS gives the region and endpoint of the AWS sessions steps
	// declare (the integrations.aws configuration; the broker must hold
	// its minter). Zero: us-east-1 on AWS.
	AWS aws.Config
	// OnEnv, when set, is called with the environment given to terraform
	// (before the variables tfexec adds): a test seam.
	OnEnv func(env map[string]string)
	// Sandbox confines every terraform process, and so its providers
	// (internal/sandbox): it writes only the task's workspace and its
	// private HOME and TMPDIR; reads those, the terraform binary, the
	// filesystem mirror, its CLI config and the system; and runs in an
	// empty network namespace unless the step needs the network (an AWS
	// session, a network mirror, downloads). terraform-exec starts the
	// sandbox helper in terraform's place (Runner.Shim). Nil: terraform
	// runs unconfined (workers always set it; its policy decides whether
	// a kernel without Landlock refuses the step).
	Sandbox *sandbox.Runner
}

// DryRunChecksum is terraform:plan's planChecksum in a dry run: no plan
// exists, and no real plan has this sha256.
const DryRunChecksum = "0000000000000000000000000000000000000000000000000000000000000000"

// service holds what every action uses.
type service struct {
	broker *credentials.Broker
	cfg    Config
	bin    string
	path   string
	tmp    string
	log    *slog.Logger
	onEnv  func(map[string]string)
	aws    aws.Config
	sbx    *sandbox.Runner
	// handles keeps idle tfexec handles, so that terraform-exec's
	// version check does not run in every action.
	handles handles
}

// Actions returns the Terraform actions by id, for
// activities.Scaffold.CheckedIntegration. It validates cfg and, when
// cfg.Binary is not an absolute path, looks it up on PATH; it does no
// other I/O.
// broker mints the AWS session a step declares (integration "aws"); nil
// when no step may declare one.
func Actions(broker *credentials.Broker, cfg Config, opts Options) (map[string]activities.ActionFunc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &service{broker: broker, cfg: cfg, bin: cfg.Binary, path: opts.Path, tmp: opts.TempDir, log: opts.Logger, onEnv: opts.OnEnv, aws: opts.AWS, sbx: opts.Sandbox}
	if s.bin == "" {
		s.bin = "terraform"
	}
	if !filepath.IsAbs(s.bin) {
		bin, err := exec.LookPath(s.bin)
		if err != nil {
			return nil, fmt.Errorf("integrations.terraform.binary %q is not on PATH: %w", s.bin, err)
		}
		if s.bin, err = filepath.Abs(bin); err != nil {
			return nil, err
		}
	}
	if s.path == "" {
		s.path = DefaultPath
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return map[string]activities.ActionFunc{
		ActionPlan:    scrubbed(s.plan),
		ActionApply:   scrubbed(s.apply),
		ActionOutput:  scrubbed(s.output),
		ActionDestroy: scrubbed(s.destroy),
	}, nil
}

// plan runs init and plan, writing the plan file, and reports what it
// would change and the plan file's checksum for terraform:apply.
func (s *service) plan(ctx context.Context, in contract.ActionInput, h *held) (contract.ActionOutput, error) {
	env, err := step.From(ctx)
	if err != nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	}
	var (
		dir     string
		destroy bool
	)
	vars, err := varsInput(in.Input)
	need, nerr := awsInput(in.Input)
	err = errors.Join(err, nerr, str(in.Input, "dir", &dir), boolean(in.Input, "destroy", &destroy))
	if err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	mode := "plan"
	if destroy {
		mode = "destroy plan"
	}
	if env.DryRun {
		if _, err := checkDir(env.Workspace, dir); err != nil {
			return contract.ActionOutput{}, invalid(err)
		}
		return contract.ActionOutput{
			// A placeholder checksum, so that a dry run goes on to the
			// apply's dry run (which checks the input's shape only).
			Output: map[string]any{"hasChanges": false, "summary": "not planned (dry run)", "planChecksum": DryRunChecksum, "resourceChanges": []any{}},
			Logs: []string{fmt.Sprintf("dry run: would run terraform init and a %s in %s%s%s, writing %s; terraform did not run",
				mode, dir, varNames(vars), withAWS(need), filepath.ToSlash(filepath.Join(dir, planFile)))},
		}, nil
	}
	w, err := s.openStep(ctx, env, ActionPlan, dir, need, h)
	if err != nil {
		return contract.ActionOutput{}, failure(err, false)
	}
	defer w.close()
	start := time.Now()
	if err := w.initialize(ctx); err != nil {
		return contract.ActionOutput{}, failure(err, false)
	}
	if err := w.preparePlan(); err != nil {
		return contract.ActionOutput{}, failure(err, false)
	}
	opts := []tfexec.PlanOption{tfexec.Out(planFile), tfexec.Destroy(destroy)}
	for _, v := range vars {
		opts = append(opts, tfexec.Var(v))
	}
	changes, err := w.tf.Plan(ctx, opts...)
	if err != nil {
		return contract.ActionOutput{}, fmt.Errorf("terraform %s in %s: %w", mode, w.rel, err)
	}
	// What is shown is a private copy of the very bytes checksummed: the
	// file in the workspace may change after this read, never the plan
	// the checksum stands for.
	data, sum, err := w.readPlan()
	if err != nil {
		return contract.ActionOutput{}, fmt.Errorf("read the plan file: %w", err)
	}
	shown := filepath.Join(w.private, "tfplan")
	if err := os.WriteFile(shown, data, 0o600); err != nil {
		return contract.ActionOutput{}, err
	}
	p, text, err := w.show(ctx, shown)
	if err != nil {
		return contract.ActionOutput{}, fmt.Errorf("terraform show %s: %w", planFile, err)
	}
	summary, list := summarize(p)
	s.log.InfoContext(ctx, "terraform plan", "task", env.Run.TaskID, "step", env.StepID, "dir", w.rel, "summary", summary, "took", time.Since(start).Round(time.Millisecond))
	return contract.ActionOutput{
		Output: map[string]any{"hasChanges": changes, "summary": summary, "planChecksum": sum, "resourceChanges": list},
		Logs: []string{
			fmt.Sprintf("terraform %s in %s%s: %s; plan file %s/%s, sha256 %s", mode, w.rel, varNames(vars), summary, w.rel, planFile, sum),
			bounded(text),
		},
	}, nil
}

// apply applies the plan file terraform:plan wrote, if and only if its
// checksum is the one the step gives: apply runs exactly the plan that
// was shown. It applies a private copy of the bytes it checked.
func (s *service) apply(ctx context.Context, in contract.ActionInput, h *held) (contract.ActionOutput, error) {
	env, err := step.From(ctx)
	if err != nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	}
	var dir, want string
	need, err := awsInput(in.Input)
	err = errors.Join(err, str(in.Input, "dir", &dir), str(in.Input, "planChecksum", &want))
	if err == nil && !checksumRE.MatchString(want) {
		err = fmt.Errorf("%w: input planChecksum: want the 64 hex digits terraform:plan's planChecksum output gives", errs.ErrInvalid)
	}
	if err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	want = strings.ToLower(want)
	if env.DryRun {
		if _, err := checkDir(env.Workspace, dir); err != nil {
			return contract.ActionOutput{}, invalid(err)
		}
		return contract.ActionOutput{
			Output: map[string]any{"applied": false, "outputs": map[string]any{}},
			Logs: []string{fmt.Sprintf("dry run: would apply %s if its sha256 is %s%s; terraform did not run",
				filepath.ToSlash(filepath.Join(dir, planFile)), want, withAWS(need))},
		}, nil
	}
	w, err := s.openStep(ctx, env, ActionApply, dir, need, h)
	if err != nil {
		return contract.ActionOutput{}, failure(err, false)
	}
	defer w.close()
	data, got, err := w.readPlan()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return contract.ActionOutput{}, mismatch(fmt.Sprintf("refused: no plan file %s/%s (run terraform:plan on this dir first); apply runs exactly the plan that was shown, and nothing was applied", w.rel, planFile))
	case err != nil:
		return contract.ActionOutput{}, mismatch(fmt.Sprintf("refused: the plan file %s/%s: %v; nothing was applied", w.rel, planFile, err))
	case got != want:
		return contract.ActionOutput{}, mismatch(fmt.Sprintf("refused: the plan file %s/%s has sha256 %s, not the %s of the plan that was shown; apply runs exactly the plan that was shown, and nothing was applied", w.rel, planFile, got, want))
	}
	private := filepath.Join(w.private, "tfplan")
	if err := os.WriteFile(private, data, 0o600); err != nil {
		return contract.ActionOutput{}, err
	}
	start := time.Now()
	var progress tail
	w.tf.SetStdout(&progress)
	if err := w.tf.Apply(ctx, tfexec.DirOrPlan(private)); err != nil {
		return contract.ActionOutput{Logs: []string{progress.String()}}, failure(fmt.Errorf("terraform apply in %s: %w", w.rel, err), true)
	}
	w.tf.SetStdout(nil)
	// Applied once: a second apply of the same plan is refused here
	// rather than by terraform's "stale plan".
	if err := w.root.Remove(planFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.WarnContext(ctx, "remove the applied plan", "dir", w.rel, "err", err)
	}
	outs, names, err := outputs(ctx, w)
	if err != nil {
		return contract.ActionOutput{Logs: []string{progress.String()}}, err
	}
	s.log.InfoContext(ctx, "terraform apply", "task", env.Run.TaskID, "step", env.StepID, "dir", w.rel, "plan", got, "took", time.Since(start).Round(time.Millisecond))
	return contract.ActionOutput{
		Output: map[string]any{"applied": true, "outputs": outs},
		Logs:   []string{fmt.Sprintf("applied the plan %s in %s; outputs: %s", got, w.rel, names), progress.String()},
	}, nil
}

// output reads the directory's outputs; sensitive ones are redacted.
func (s *service) output(ctx context.Context, in contract.ActionInput, h *held) (contract.ActionOutput, error) {
	env, err := step.From(ctx)
	if err != nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	}
	var dir string
	need, err := awsInput(in.Input)
	if err := errors.Join(err, str(in.Input, "dir", &dir)); err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	if env.DryRun {
		if _, err := checkDir(env.Workspace, dir); err != nil {
			return contract.ActionOutput{}, invalid(err)
		}
		return contract.ActionOutput{Output: map[string]any{"outputs": map[string]any{}},
			Logs: []string{fmt.Sprintf("dry run: would read the outputs of %s%s; terraform did not run", dir, withAWS(need))}}, nil
	}
	w, err := s.openStep(ctx, env, ActionOutput, dir, need, h)
	if err != nil {
		return contract.ActionOutput{}, failure(err, false)
	}
	defer w.close()
	outs, names, err := outputs(ctx, w)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	return contract.ActionOutput{Output: map[string]any{"outputs": outs},
		Logs: []string{fmt.Sprintf("outputs of %s: %s", w.rel, names)}}, nil
}

// destroy runs init and destroy.
func (s *service) destroy(ctx context.Context, in contract.ActionInput, h *held) (contract.ActionOutput, error) {
	env, err := step.From(ctx)
	if err != nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), ForbiddenType, err)
	}
	var dir string
	vars, err := varsInput(in.Input)
	need, nerr := awsInput(in.Input)
	if err = errors.Join(err, nerr, str(in.Input, "dir", &dir)); err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	if env.DryRun {
		if _, err := checkDir(env.Workspace, dir); err != nil {
			return contract.ActionOutput{}, invalid(err)
		}
		return contract.ActionOutput{Output: map[string]any{"destroyed": false},
			Logs: []string{fmt.Sprintf("dry run: would run terraform init and destroy in %s%s%s; terraform did not run", dir, varNames(vars), withAWS(need))}}, nil
	}
	w, err := s.openStep(ctx, env, ActionDestroy, dir, need, h)
	if err != nil {
		return contract.ActionOutput{}, failure(err, false)
	}
	defer w.close()
	if err := w.initialize(ctx); err != nil {
		return contract.ActionOutput{}, failure(err, false)
	}
	opts := make([]tfexec.DestroyOption, 0, len(vars))
	for _, v := range vars {
		opts = append(opts, tfexec.Var(v))
	}
	start := time.Now()
	var progress tail
	w.tf.SetStdout(&progress)
	if err := w.tf.Destroy(ctx, opts...); err != nil {
		return contract.ActionOutput{Logs: []string{progress.String()}}, failure(fmt.Errorf("terraform destroy in %s: %w", w.rel, err), true)
	}
	s.log.InfoContext(ctx, "terraform destroy", "task", env.Run.TaskID, "step", env.StepID, "dir", w.rel, "took", time.Since(start).Round(time.Millisecond))
	return contract.ActionOutput{Output: map[string]any{"destroyed": true},
		Logs: []string{fmt.Sprintf("destroyed what %s manages%s", w.rel, varNames(vars)), progress.String()}}, nil
}

// openStep checks dir, gets the step's AWS session if it declares one,
// and opens the directory with the session in terraform's environment.
func (s *service) openStep(ctx context.Context, env step.Env, action, dir string, need *awsNeed, h *held) (*workdir, error) {
	if _, err := checkDir(env.Workspace, dir); err != nil {
		return nil, err
	}
	extra, err := s.awsEnv(ctx, env, action, need, h)
	if err != nil {
		return nil, err
	}
	w, err := s.open(env.Workspace, dir, extra, need != nil)
	if err != nil {
		return nil, err
	}
	if w.warning != "" {
		s.log.WarnContext(ctx, "terraform runs with less confinement: "+w.warning, "task", env.Run.TaskID, "step", env.StepID)
		h.notes = append(h.notes, "warning: "+w.warning)
	}
	return w, nil
}

// withAWS is " with <the session>" for a log line, or "".
func withAWS(n *awsNeed) string {
	if n == nil {
		return ""
	}
	return " with " + n.String()
}

// outputs reads the outputs: values as JSON gives them, sensitive ones
// replaced by Redacted; names lists them for the log, values never.
func outputs(ctx context.Context, w *workdir) (map[string]any, string, error) {
	meta, err := w.tf.Output(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("terraform output in %s: %w", w.rel, err)
	}
	out := make(map[string]any, len(meta))
	names := make([]string, 0, len(meta))
	for name, m := range meta {
		if m.Sensitive {
			out[name] = Redacted
			names = append(names, name+" (sensitive, redacted)")
			continue
		}
		var v any
		if err := json.Unmarshal(m.Value, &v); err != nil {
			return nil, "", fmt.Errorf("output %s: %w", name, err)
		}
		out[name] = v
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return out, "none", nil
	}
	return out, strings.Join(names, ", "), nil
}

// summarize counts the plan's changes as terraform's own summary line
// does (a replacement is one add and one destroy) and lists every
// resource that changes.
func summarize(p *tfjson.Plan) (string, []any) {
	var add, change, destroy int
	list := []any{}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		a := rc.Change.Actions
		switch {
		case a.NoOp(), a.Read():
			continue
		case a.Replace():
			add++
			destroy++
		case a.Create():
			add++
		case a.Update():
			change++
		case a.Delete():
			destroy++
		}
		names := make([]any, len(a))
		for i, x := range a {
			names[i] = string(x)
		}
		list = append(list, map[string]any{"address": rc.Address, "actions": names})
	}
	return fmt.Sprintf("%d to add, %d to change, %d to destroy", add, change, destroy), list
}

var (
	checksumRE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	varNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// varsInput reads the vars input as sorted NAME=VALUE assignments for
// -var: strings as they are, numbers and booleans as literals, lists
// and objects as JSON (which HCL reads).
func varsInput(input map[string]any) ([]string, error) {
	raw, ok := input["vars"]
	if !ok || raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: input vars must be an object of variable values, not %T", errs.ErrInvalid, raw)
	}
	out := make([]string, 0, len(m))
	for name, v := range m {
		if !varNameRE.MatchString(name) {
			return nil, fmt.Errorf("%w: input vars: %q is not a variable name", errs.ErrInvalid, name)
		}
		var val string
		switch v := v.(type) {
		case string:
			val = v
		case bool:
			val = strconv.FormatBool(v)
		case float64:
			val = strconv.FormatFloat(v, 'f', -1, 64)
		case int:
			val = strconv.Itoa(v)
		case json.Number:
			val = v.String()
		case map[string]any, []any:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%w: input vars.%s: %v", errs.ErrInvalid, name, err)
			}
			val = string(b)
		default:
			return nil, fmt.Errorf("%w: input vars.%s: a %T is not a variable value", errs.ErrInvalid, name, v)
		}
		out = append(out, name+"="+val)
	}
	slices.Sort(out)
	return out, nil
}

// varNames is " with variables a, b" for a log line: names, never values.
func varNames(vars []string) string {
	if len(vars) == 0 {
		return ""
	}
	names := make([]string, len(vars))
	for i, v := range vars {
		names[i], _, _ = strings.Cut(v, "=")
	}
	return " with variables " + strings.Join(names, ", ")
}

// str reads the required string input key into dst.
func str(input map[string]any, key string, dst *string) error {
	v, ok := input[key]
	if !ok || v == nil {
		return fmt.Errorf("%w: input %s is required", errs.ErrInvalid, key)
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%w: input %s must be a string, not %T", errs.ErrInvalid, key, v)
	}
	if s == "" {
		return fmt.Errorf("%w: input %s is empty", errs.ErrInvalid, key)
	}
	*dst = s
	return nil
}

// boolean reads the optional boolean input key into dst.
func boolean(input map[string]any, key string, dst *bool) error {
	v, ok := input[key]
	if !ok || v == nil {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		return fmt.Errorf("%w: input %s must be a boolean, not %T", errs.ErrInvalid, key, v)
	}
	*dst = b
	return nil
}

func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), InvalidInputType, err)
}

func mismatch(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, PlanMismatchType, nil)
}

// failure makes invalid input final, and a failed apply or destroy
// (final) too: what it changed must be looked at before anything runs
// again.
func failure(err error, final bool) error {
	switch {
	case errors.Is(err, errs.ErrInvalid):
		return invalid(err)
	case errors.Is(err, sandbox.ErrUnavailable):
		return temporal.NewNonRetryableApplicationError(err.Error(), SandboxUnavailableType, err)
	case final:
		return temporal.NewNonRetryableApplicationError(err.Error(), TerraformFailedType, err)
	}
	return err
}

// bounded clips terraform's text for one log line.
func bounded(s string) string {
	if len(s) <= maxLogText {
		return s
	}
	return s[:maxLogText] + fmt.Sprintf("\n… (%d more bytes of terraform's output not shown)", len(s)-maxLogText)
}

// tail keeps the last maxLogText bytes written to it (terraform's
// progress), safe for tfexec's copying goroutine.
type tail struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - maxLogText; over > 0 {
		t.buf.Next(over)
		t.dropped += over
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped > 0 {
		return fmt.Sprintf("… (%d earlier bytes not shown)\n%s", t.dropped, t.buf.String())
	}
	return t.buf.String()
}
