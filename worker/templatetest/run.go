package templatetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/worker"
	"github.com/riggerdev/rigger/workflows"
)

// Runner runs test files.
type Runner struct {
	// Scaffold configures the real actions (its renderer and limits); a
	// test copies it, and its runs reach no network and no catalog.
	Scaffold *activities.Scaffold
	// Actions is the registry templates compile against; FakedActions
	// of it are faked.
	Actions Lookup
	// Update rewrites snapshots instead of comparing them.
	Update bool
	// TemplatesAnywhere lets a test file's template: (and its fetch
	// fakes) name a file outside the template's folder. Off by default:
	// test files come with pull requests, and the CLI never turns it on.
	TemplatesAnywhere bool
	// recordFetches answers every remote fetch with an empty skeleton
	// (Init's run).
	recordFetches bool
}

// Result is one case's outcome.
type Result struct {
	File, Template, Case string
	Line                 int
	Duration             time.Duration
	// Failures are the expectations that did not hold, each readable on
	// its own (with a diff where one helps); none: the case passed.
	Failures []string
	// Faked names the faked actions the run called, sorted.
	Faked []string
	// Notes are things the report says about a passing case (a snapshot
	// written).
	Notes []string
	// Wrote is the snapshot folder the run rewrote (Update), "" if none:
	// a watch does not take it for an edit.
	Wrote string
	// Log is the run's log, shown with a failure.
	Log []string
	// secrets are the case's fake secret values, redacted from reports.
	secrets []string
	// fetched are the remote skeleton urls the run asked for; steps the
	// statuses its steps ended in (Init writes both into a case).
	fetched []string
	steps   map[string]string
}

// Passed says whether every expectation held.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// RunFile runs every case of f, in order.
func (r *Runner) RunFile(ctx context.Context, f *File) []Result {
	out := make([]Result, 0, len(f.Cases))
	for _, c := range f.Cases {
		out = append(out, r.RunCase(ctx, f, c))
	}
	return out
}

// RunCase runs one case and checks its expectations.
func (r *Runner) RunCase(ctx context.Context, f *File, c Case) Result {
	start := time.Now()
	res := Result{File: f.Path, Template: f.Template, Case: c.Name, Line: c.Line}
	for _, v := range c.Secrets {
		res.secrets = append(res.secrets, v)
	}
	res.Failures = r.runCase(ctx, f, c, &res)
	res.Duration = time.Since(start)
	return res
}

func (r *Runner) runCase(ctx context.Context, f *File, c Case, res *Result) []string {
	t, err := loadTemplate(f.Template, c.TemplateName)
	if err != nil {
		return []string{err.Error()}
	}
	res.Template = t.Metadata.Name
	abs, err := filepath.Abs(f.Template)
	if err != nil {
		return []string{err.Error()}
	}
	// Actions rigger lacks run as fakes when the case fakes them.
	var actions Lookup = r.Actions
	if extra := unknownActions(r.Actions, t, c); len(extra) > 0 {
		actions = withUnknown{Lookup: r.Actions, extra: extra}
		res.Notes = append(res.Notes, "faked, unknown to rigger: "+strings.Join(extra, ", "))
	}
	faked := FakedActions(actions)
	if msg := unknownFakes(t, c, faked); msg != "" {
		return []string{msg}
	}
	plan, err := templates.Compile(t, c.Values, actions, templates.CompileOptions{
		UserRef: c.UserRef, UserEntity: c.UserEntity, BaseURL: "file://" + filepath.ToSlash(abs),
	})
	if err != nil {
		return expectError(c.Expect, "the input is refused: "+err.Error())
	}
	plan.Template.Ref = t.Ref()
	entities, err := newFixture(c.Entities)
	if err != nil {
		return []string{err.Error()}
	}
	sc := *r.Scaffold
	// No network, no catalog, no clones: skeletons come from the
	// template's own folder.
	sc.HTTP, sc.Git, sc.Catalog, sc.Entities = nil, activities.GitSource{}, nil, entities
	// The live fetch policy (rigger.yaml's allowedHosts, swapped on a
	// reload) would win over the fields above: none here either.
	sc.Live = activities.NewSwapped(activities.ScaffoldFetch{})
	sc.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ff := &fetchFaker{base: filepath.Dir(f.Path), fakes: c.Fetch, recordAll: r.recordFetches}
	if !r.TemplatesAnywhere {
		ff.home = testHome(f.Path)
	}
	defer ff.close()
	sc.SkeletonFake = ff.answer
	defer func() { res.Notes = append(res.Notes, ff.notes()...); res.fetched = ff.asked }()
	rec := &recorder{}
	dr := &worker.DryRunner{Scaffold: &sc, Logger: sc.Logger, Fakes: rec.fakes(actions, faked, c.Fakes)}
	run, err := dr.DryRun(ctx, *plan, c.Secrets, nil, permission.Subject{Ref: c.UserRef})
	if err != nil {
		return []string{"the run could not start: " + err.Error()}
	}
	for _, e := range run.State.Log {
		prefix := e.StepID
		if prefix == "" {
			prefix = "task"
		}
		res.Log = append(res.Log, "["+prefix+"] "+e.Text)
	}
	calls := rec.Calls()
	seen := map[string]bool{}
	for _, call := range calls {
		if !seen[call.Action] {
			seen[call.Action] = true
			res.Faked = append(res.Faked, call.Action)
		}
	}
	sort.Strings(res.Faked)
	var failures []string
	if run.Err != nil {
		failures = expectError(c.Expect, "the run failed: "+run.Err.Error())
	} else if c.Expect.Error != "" {
		failures = append(failures, fmt.Sprintf("expect.error: want the run to fail with %q, but it completed", c.Expect.Error))
	}
	res.steps = map[string]string{}
	for _, s := range run.State.Steps {
		res.steps[s.ID] = s.Status
	}
	failures = append(failures, checkSteps(c.Expect.Steps, run.State.Steps)...)
	for _, id := range sortedKeys(c.Expect.Outputs) {
		got, ok := run.State.Outputs[id]
		if !ok {
			failures = append(failures, fmt.Sprintf("expect.outputs.%s: step %s has no output (it did not complete)", id, id))
			continue
		}
		failures = append(failures, contained("expect.outputs."+id, jsonShape(c.Expect.Outputs[id]), jsonShape(got))...)
	}
	if c.Expect.Output != nil {
		failures = append(failures, contained("expect.output", jsonShape(c.Expect.Output), jsonShape(run.State.Output))...)
	}
	failures = append(failures, checkLog(c.Expect, res.Log)...)
	failures = append(failures, checkCalls(c.Expect.Calls, calls)...)
	if c.Expect.Snapshot != "" {
		base, rel := filepath.Dir(f.Path), filepath.FromSlash(c.Expect.Snapshot)
		switch {
		case r.Update && run.Err != nil:
			failures = append(failures, "snapshot "+c.Expect.Snapshot+" not updated: the run failed")
		case r.Update:
			res.Wrote = filepath.Join(base, rel) // also when it fails midway
			if err := writeSnapshot(base, rel, run.Files); err != nil {
				failures = append(failures, "snapshot "+c.Expect.Snapshot+": "+err.Error())
			} else {
				res.Notes = append(res.Notes, fmt.Sprintf("snapshot %s written (%d files)", c.Expect.Snapshot, len(run.Files)))
			}
		default:
			failures = append(failures, compareSnapshot(c.Expect.Snapshot, base, rel, run.Files)...)
		}
	}
	return failures
}

// loadTemplate reads the template file and picks the template named name
// (needed when the file holds several).
func loadTemplate(path, name string) (*templates.Template, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("the template: %w", err)
	}
	if info.Size() > templates.MaxTemplateSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the limit of %d", path, info.Size(), templates.MaxTemplateSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs, err := templates.ParseDocuments(path, data)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range docs {
		if d.Err != nil {
			if name == "" || len(docs) == 1 {
				return nil, d.Err
			}
			continue
		}
		names = append(names, d.Template.Metadata.Name)
		if name == "" && len(docs) == 1 || d.Template.Metadata.Name == name {
			return d.Template, nil
		}
	}
	if name == "" {
		return nil, fmt.Errorf("%s holds %d templates (%s): the case must name one with template: NAME", path, len(docs), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%s holds no template named %q (it holds %s)", path, name, strings.Join(names, ", "))
}

// unknownFakes says which of a case's fakes name neither a faked action
// nor a step of a faked action (a typo would silently do nothing).
func unknownFakes(t *templates.Template, c Case, faked []string) string {
	isFaked := map[string]bool{}
	for _, n := range faked {
		isFaked[n] = true
	}
	steps := map[string]string{}
	for _, s := range t.Spec.Steps {
		steps[s.ID] = s.Action
	}
	var bad []string
	for _, k := range sortedKeys(c.Fakes) {
		if action, ok := steps[k]; ok {
			if !isFaked[action] {
				bad = append(bad, fmt.Sprintf("fakes.%s: step %s runs %s, which is real in a test, not faked", k, k, action))
			}
			continue
		}
		if !isFaked[k] {
			bad = append(bad, fmt.Sprintf("fakes.%s: neither a step id of the template nor a faked action (faked: %s)", k, strings.Join(faked, ", ")))
		}
	}
	return strings.Join(bad, "\n")
}

// expectError checks a failure against expect.error.
func expectError(e Expect, msg string) []string {
	switch {
	case e.Error == "":
		return []string{msg}
	case !strings.Contains(msg, e.Error):
		return []string{fmt.Sprintf("expect.error: want an error containing %q, got: %s", e.Error, msg)}
	}
	return nil
}

func checkSteps(want map[string]string, got []workflows.StepState) []string {
	var out []string
	for _, id := range sortedKeys(want) {
		found := false
		for _, s := range got {
			if s.ID != id {
				continue
			}
			found = true
			if s.Status != want[id] {
				msg := fmt.Sprintf("expect.steps.%s: want %s, got %s", id, want[id], s.Status)
				if s.Error != "" {
					msg += " (" + s.Error + ")"
				}
				out = append(out, msg)
			}
		}
		if !found {
			ids := make([]string, len(got))
			for i, s := range got {
				ids[i] = s.ID
			}
			out = append(out, fmt.Sprintf("expect.steps.%s: the template has no such step (steps: %s)", id, strings.Join(ids, ", ")))
		}
	}
	return out
}

func checkLog(e Expect, log []string) []string {
	var out []string
	has := func(s string) bool {
		for _, l := range log {
			if strings.Contains(l, s) {
				return true
			}
		}
		return false
	}
	for _, s := range e.Log {
		if !has(s) {
			out = append(out, fmt.Sprintf("expect.log: no log line contains %q", s))
		}
	}
	for _, s := range e.NotLog {
		if has(s) {
			out = append(out, fmt.Sprintf("expect.notLog: a log line contains %q", s))
		}
	}
	return out
}

func checkCalls(want map[string][]map[string]any, calls []Call) []string {
	var out []string
	for _, key := range sortedKeys(want) {
		var got []Call
		for _, c := range calls {
			if c.Action == key || c.StepID == key {
				got = append(got, c)
			}
		}
		if len(got) != len(want[key]) {
			out = append(out, fmt.Sprintf("expect.calls.%s: want %d calls, got %d", key, len(want[key]), len(got)))
			continue
		}
		for i, w := range want[key] {
			out = append(out, contained(fmt.Sprintf("expect.calls.%s[%d]", key, i), jsonShape(w), jsonShape(got[i].Input))...)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Run finds the test files of args (see Discover), runs every case and
// returns the report. An argument that names nothing to test is an error;
// a test file that cannot be read is a failure in the report.
func (r *Runner) Run(ctx context.Context, args []string) (*Report, error) {
	start := time.Now()
	paths, err := Discover(args)
	if err != nil {
		return nil, err
	}
	rep := &Report{LoadErrors: map[string]error{}}
	for _, p := range paths {
		f, err := LoadFile(p)
		if err == nil && f.TemplateOutside && !r.TemplatesAnywhere {
			err = fmt.Errorf("%s: template: %s is outside the test file's folder (or, for tests/, the folder above): a test file may only name its own template", p, f.Template)
		}
		if err != nil {
			rep.LoadErrors[p] = err
			continue
		}
		rep.Results = append(rep.Results, r.RunFile(ctx, f)...)
	}
	rep.Duration = time.Since(start)
	return rep, nil
}
