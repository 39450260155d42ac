package contract

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/riggerdev/rigger/templates"
)

// Registry lists the actions this build implements (metadata only: the
// implementations live in activities and are registered by worker), with their task queue and
// defaults; it implements templates.ActionLookup. scaffolder.disabledActions
// switches entries off; SetDisabled changes that set while rigger runs
// (a configuration reload), and every lookup sees the set of its moment.
type Registry struct {
	// all holds every action: built in, and external (AddExternal, before
	// the registry is shared); neither changes afterwards.
	all map[string]templates.ActionInfo
	// external holds the docs of the actions plugin workers serve.
	external map[string]*ActionDoc
	// switchedOff is every name disabledActions gives (also names no
	// action has yet: an external action added later is off too).
	switchedOff atomic.Pointer[map[string]bool]
}

var _ templates.ActionLookup = (*Registry)(nil)

// NewRegistry returns the built-in actions minus disabled ones, each with
// the input schema of its ActionDocs. Every entry has an implementation in
// activities (worker's tests check it), so a template that validates never
// meets a missing action at run time.
func NewRegistry(disabled []string) *Registry {
	r := &Registry{all: map[string]templates.ActionInfo{}, external: map[string]*ActionDoc{}}
	addOn := func(queue, name string, timeout time.Duration, dryRunSafe bool) {
		info := templates.ActionInfo{
			Name: name, TaskQueue: queue, DefaultTimeout: timeout, DryRunSafe: dryRunSafe, Local: localActions[name],
			DefaultRetry: templates.RetryPolicy{MaximumAttempts: 3, InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		}
		if doc, ok := ActionDocs(name); ok {
			info.InputSchema = doc.Input
		}
		r.all[name] = info
	}
	add := func(name string, timeout time.Duration, dryRunSafe bool) {
		addOn(QueueDefault, name, timeout, dryRunSafe)
	}
	add("debug:log", time.Minute, true)
	add(ActionWait, MaxWait, true)
	// A dry run skips it: nobody decides on a dry run.
	add(ActionApproval, MaxApprovalWait, false)
	add(ActionWaitFor, MaxWaitFor, false)
	add("fs:write", time.Minute, true)
	add("fs:delete", time.Minute, true)
	add("fs:rename", time.Minute, true)
	add("fetch:plain", 5*time.Minute, true)
	add("fetch:template", 5*time.Minute, true)
	add("fetch:cookiecutter", 5*time.Minute, true)
	add("fetch:plain:file", 5*time.Minute, true)
	add("catalog:write", time.Minute, true)
	add("catalog:fetch", time.Minute, true)
	// In a dry run it registers nothing and reports what it would.
	add("catalog:register", 5*time.Minute, true)
	for _, specs := range [][]IntegrationAction{GitHubActions, AWSActions, TerraformActions} {
		for _, a := range specs {
			addOn(a.Queue, a.Name, a.Timeout, a.DryRunSafe)
		}
	}
	r.SetDisabled(disabled)
	return r
}

// SetDisabled replaces the set scaffolder.disabledActions switches off.
// It is safe to call while other goroutines look actions up.
func (r *Registry) SetDisabled(disabled []string) {
	off := make(map[string]bool, len(disabled))
	for _, d := range disabled {
		off[d] = true
	}
	r.switchedOff.Store(&off)
}

// off reports whether name is switched off now.
func (r *Registry) off(name string) bool { return (*r.switchedOff.Load())[name] }

// localActions work only on the task workspace (or fetch a bounded
// skeleton): they run as local activities of the workflow worker.
var localActions = map[string]bool{
	"debug:log": true, "fs:write": true, "fs:delete": true, "fs:rename": true,
	"fetch:plain": true, "fetch:template": true, "fetch:cookiecutter": true, "fetch:plain:file": true, "catalog:write": true,
}

// Action implements templates.ActionLookup.
func (r *Registry) Action(name string) (templates.ActionInfo, bool) {
	a, ok := r.all[name]
	if !ok || r.off(name) {
		return templates.ActionInfo{}, false
	}
	return a, true
}

// Disabled says whether name is an action of this registry switched off
// by scaffolder.disabledActions (validation says so instead of "unknown").
func (r *Registry) Disabled(name string) bool {
	_, ok := r.all[name]
	return ok && r.off(name)
}

// SwitchedOff says whether scaffolder.disabledActions switches name off
// now, whether or not this process registered it: a step's re-check
// (Scaffold.StillEnabled) must refuse an external action disabled in
// configuration that this worker does not declare.
func (r *Registry) SwitchedOff(name string) bool { return r.off(name) }

// DisabledNames lists the actions scaffolder.disabledActions switched off,
// sorted.
func (r *Registry) DisabledNames() []string {
	var out []string
	for n := range *r.switchedOff.Load() {
		if _, ok := r.all[n]; ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Names lists the registered actions that are on, sorted.
func (r *Registry) Names() []string {
	off := *r.switchedOff.Load()
	out := make([]string, 0, len(r.all))
	for n := range r.all {
		if !off[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// IntegrationAction is an action of an integration package
// (activities/github, …): it runs on the integration's own queue, served
// by workers that hold only that integration's configuration. Its docs
// live in schemas/ like every action's.
type IntegrationAction struct {
	Name    string
	Queue   string
	Timeout time.Duration
	// DryRunSafe: the action has a dry-run behaviour (it reports what it
	// would do and changes nothing), so a dry run calls it.
	DryRunSafe bool
}

// Task queues of the integrations.
const (
	QueueGitHub    = "rigger-github"
	QueueAWS       = "rigger-aws"
	QueueTerraform = "rigger-terraform"
)
