package worker

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// Dry-run bounds: what comes back is shown to a person or a CI log, and a
// dry run must not tie up the server that runs it.
const (
	dryRunStepTimeout = time.Minute // each step, one attempt
	dryRunIdleTimeout = 2 * time.Minute
	dryRunTimeout     = 5 * time.Minute // the whole run: then every activity's context ends
	maxDryRunFiles    = 2000
	maxDryRunOutput   = 32 << 20
	maxDryRuns        = 2 // at once, per process
)

// dryRunSlots bounds concurrent dry runs in this process.
var dryRunSlots = make(chan struct{}, maxDryRuns)

// ErrBusy says every dry-run slot is taken (the API answers 503).
var ErrBusy = fmt.Errorf("%w: too many dry runs at once; try again shortly", errs.ErrUnavailable)

// DryRunner runs a template without side effects: the real Scaffold
// workflow and the real actions, in the SDK's in-process workflow
// environment (no server, no history kept, durable timers skipped), on a
// throwaway workspace. Steps whose action is not dry-run safe are skipped
// by the workflow.
type DryRunner struct {
	// Scaffold is the worker's configuration; the runner copies it and
	// swaps in a temporary workspace and the given secrets.
	Scaffold *activities.Scaffold
	Logger   *slog.Logger
	// Integrations are the integration actions (Deps.Integrations): a dry
	// run calls their dry-run behaviour, which reports and changes nothing.
	Integrations map[string]map[string]activities.ActionFunc
	// Fakes stand in for actions by name (rigger template test): a step
	// of a faked action runs the fake, wrapped and checked like any
	// action, even where a dry run would skip it. External actions are
	// not faked (their steps are skipped).
	Fakes map[string]activities.ActionFunc
}

// DryRun runs plan for who. files, when given, are the template's own files
// (template.yaml's folder) and become the base that relative skeleton urls
// resolve against; otherwise plan.Template.BaseURL is used as it is.
//
// A dry run never goes through a Temporal server, so nobody else can start
// or alter it: the runner signs it in process with a key of its own (made
// for this run and then dropped) and the actions check that grant like a
// worker checks the API server's, so they act with who's permissions.
func (d *DryRunner) DryRun(ctx context.Context, plan templates.Plan, secrets map[string]string, files []contract.DryRunFile, who permission.Subject) (res *workflows.DryRunResult, err error) {
	select {
	case dryRunSlots <- struct{}{}:
		defer func() { <-dryRunSlots }()
	default:
		return nil, ErrBusy
	}
	// The SDK's environment panics when it stalls past its idle timeout.
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("the dry run stopped: %v", r)
		}
	}()
	for i := range plan.Steps {
		s := &plan.Steps[i]
		if s.Timeout <= 0 || s.Timeout > dryRunStepTimeout {
			s.Timeout = dryRunStepTimeout
		}
		s.Retry.MaximumAttempts = 1
		// A plugin worker serves an external action: this in-process
		// run cannot reach it, so it skips the step and says so.
		if s.External != nil {
			s.DryRunSafe = false
		} else if d.Fakes[s.Action] != nil {
			s.DryRunSafe = true
		}
	}
	tmp, err := os.MkdirTemp("", "rigger-dry-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if files != nil {
		dir := filepath.Join(tmp, "template")
		if err := writeFiles(dir, files); err != nil {
			return nil, err
		}
		plan.Template.BaseURL = "file://" + filepath.ToSlash(filepath.Join(dir, "template.yaml"))
	}
	taskID := "dry-run-" + uuid.NewString()
	sc := *d.Scaffold
	sc.Workspaces = activities.NewWorkspaces(filepath.Join(tmp, "workspaces"), maxDryRunOutput, maxDryRunFiles)
	sc.Secrets = memSecrets(secrets)
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	in := workflows.ScaffoldInput{TaskID: taskID, Plan: plan, Secrets: names, SecretNonce: secretbox.NewNonce(), DryRun: true}
	if sc.Trust, in.Run, err = signDryRun(in, who); err != nil {
		return nil, err
	}

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(d.Logger))
	suite.SetDisableRegistrationAliasing(true)
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(dryRunIdleTimeout)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: taskID}) // the grant names it
	registerScaffold(env, &sc)
	for _, actions := range d.Integrations {
		for name, fn := range sc.CheckedIntegration(actions) {
			env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: contract.ActionActivity(name)})
		}
	}
	for name, fn := range sc.CheckedIntegration(d.Fakes) {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: contract.ActionActivity(name), DisableAlreadyRegisteredCheck: true})
	}
	// The environment is bounded by dryRunIdleTimeout of idle time;
	// actions get their own step timeouts. Every activity's context (and
	// so every rendering) also ends with ctx, when the client goes away,
	// or after dryRunTimeout: nothing keeps burning CPU past the request.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	actx, stop := context.WithTimeout(ctx, dryRunTimeout)
	defer stop()
	// The environment runs local activities (rendering, the quick file
	// steps) inside the workflow's task, so the SDK's deadlock detector
	// (1s by default) would count their time and fail a dry run on a
	// loaded machine; each step is bounded by its own timeout instead.
	env.SetWorkerOptions(sdkworker.Options{BackgroundActivityContext: actx, DeadlockDetectionTimeout: dryRunStepTimeout})
	env.ExecuteWorkflow(workflows.ScaffoldName, in)
	res = &workflows.DryRunResult{}
	if werr := env.GetWorkflowError(); werr != nil {
		// The test environment's execution error names internal ids
		// (default-test-workflow-id); the user needs only its cause.
		var exec *temporal.WorkflowExecutionError
		if errors.As(werr, &exec) && errors.Unwrap(exec) != nil {
			werr = errors.Unwrap(exec)
		}
		res.Err = werr
		var app *temporal.ApplicationError
		var canc *temporal.CanceledError
		switch {
		case errors.As(werr, &app) && app.HasDetails():
			_ = app.Details(&res.State)
		case errors.As(werr, &canc) && canc.HasDetails():
			_ = canc.Details(&res.State)
		}
	} else if err := env.GetWorkflowResult(&res.State); err != nil {
		return nil, err
	}
	res.Files, err = readFiles(filepath.Join(tmp, "workspaces", taskID))
	if err != nil {
		return nil, err
	}
	return res, nil
}

// signDryRun signs a dry run with a key made for it, and returns the trust
// that accepts it: that key, and the run's own template base.
func signDryRun(in workflows.ScaffoldInput, who permission.Subject) (*activities.RunTrust, *contract.RunGrant, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, nil, err
	}
	signer := runsign.NewSigner(priv)
	claims, sig, err := signer.Sign(runsign.Claims{
		TaskID: in.TaskID, TemplateRef: in.Plan.Template.Ref, UserRef: in.Plan.UserRef,
		Service: who.Service, Scopes: who.Scopes, Ent: who.Ent, InputHash: in.InputHash(),
		BaseURL: in.Plan.Template.BaseURL, DryRun: true, Attempt: 1, Channel: in.Plan.Channel,
	})
	if err != nil {
		return nil, nil, err
	}
	marker, err := runsign.NewMarkerFromSigner(signer)
	if err != nil {
		return nil, nil, err
	}
	trust := &activities.RunTrust{
		Verifier: runsign.NewVerifier(signer.PublicKey()),
		Marker:   marker,
		Sources:  activities.TemplateSources{Bases: []string{in.Plan.Template.BaseURL}},
	}
	return trust, &contract.RunGrant{Claims: claims, Signature: sig}, nil
}

// memSecrets hands a dry run its secrets from memory.
type memSecrets map[string]string

func (m memSecrets) Get(context.Context, string) (map[string]string, error) { return m, nil }
func (m memSecrets) Forget(context.Context, string) error                   { return nil }

// writeFiles writes a template's files under dir through an os.Root: no
// path may leave it.
func writeFiles(dir string, files []contract.DryRunFile) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	total := 0
	for i, f := range files {
		p := filepath.Clean(filepath.FromSlash(f.Path))
		if f.Path == "" || filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
			return fmt.Errorf("directoryContents[%d].path %q must be a relative path inside the template", i, f.Path)
		}
		if total += len(f.Data); total > maxDryRunOutput || i >= maxDryRunFiles {
			return fmt.Errorf("directoryContents: more than %d files or %d bytes", maxDryRunFiles, maxDryRunOutput)
		}
		if d := filepath.Dir(p); d != "." {
			if err := root.MkdirAll(d, 0o700); err != nil {
				return fmt.Errorf("directoryContents[%d].path %q: %v", i, f.Path, err)
			}
		}
		mode := os.FileMode(0o600)
		if f.Executable {
			mode = 0o700
		}
		if err := root.WriteFile(p, f.Data, mode); err != nil {
			return fmt.Errorf("directoryContents[%d].path %q: %v", i, f.Path, err)
		}
	}
	return nil
}

// WriteDryRunFiles writes a dry run's files into the existing folder dir,
// through an os.Root (no path may leave it): 0o644, executables 0o755.
func WriteDryRunFiles(dir string, files []contract.DryRunFile) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return WriteDryRunFilesIn(root, files)
}

// WriteDryRunFilesIn is WriteDryRunFiles into an open root.
func WriteDryRunFilesIn(root *os.Root, files []contract.DryRunFile) error {
	for _, f := range files {
		if d := filepath.Dir(f.Path); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		mode := os.FileMode(0o644)
		if f.Executable {
			mode = 0o755
		}
		if err := root.WriteFile(f.Path, f.Data, mode); err != nil {
			return err
		}
	}
	return nil
}

// readFiles returns the regular files under dir, sorted by path.
func readFiles(dir string) ([]contract.DryRunFile, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []contract.DryRunFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := []contract.DryRunFile{}
	total := 0
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		if total += len(data); total > maxDryRunOutput || len(out) >= maxDryRunFiles {
			return fmt.Errorf("the dry run produced more than %d files or %d bytes", maxDryRunFiles, maxDryRunOutput)
		}
		info, _ := d.Info()
		out = append(out, contract.DryRunFile{Path: p, Data: data, Executable: info != nil && info.Mode()&0o111 != 0})
		return nil
	})
	return out, err
}
