package templatetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
)

// Lookup is the action registry a test compiles against.
type Lookup interface {
	templates.ActionLookup
	Names() []string
}

// FakedActions lists the actions of reg a test replaces by fakes: every
// one with effects outside the workspace (contract.HasOutsideEffects) that
// the worker runs itself.
func FakedActions(reg Lookup) []string {
	var out []string
	for _, n := range reg.Names() {
		if info, ok := reg.Action(n); ok && contract.HasOutsideEffects(n) && !info.Local && info.External == nil {
			out = append(out, n)
		}
	}
	return out
}

// Call is one call of a faked action.
type Call struct {
	StepID, Action string
	Input          map[string]any
}

// recorder holds the fakes of one case and the calls they got.
type recorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *recorder) record(c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// fakes returns a recording fake for each name: it checks its input
// against the action's input schema, records the call, and returns what
// the case declares for the step (or the action): its output, checked
// against the action's output schema, or its error.
func (r *recorder) fakes(reg Lookup, names []string, declared map[string]Fake) map[string]activities.ActionFunc {
	out := make(map[string]activities.ActionFunc, len(names))
	for _, name := range names {
		info, _ := reg.Action(name)
		doc, _ := contract.ActionDocs(name)
		out[name] = func(_ context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
			input := in.Input
			if input == nil {
				input = map[string]any{}
			}
			if len(info.InputSchema) > 0 {
				problems, err := templates.ValidateValue(info.InputSchema, "actions/"+name+"/input", input, "input")
				if err != nil {
					return contract.ActionOutput{}, fmt.Errorf("the input schema of %s does not compile: %w", name, err)
				}
				if len(problems) > 0 {
					return contract.ActionOutput{}, nonRetryable(fmt.Sprintf("fake %s: the input does not match the action's schema: %s", name, problemList(problems)))
				}
			}
			r.record(Call{StepID: in.StepID, Action: name, Input: input})
			f, ok := declared[in.StepID]
			if !ok {
				f = declared[name]
			}
			if f.Error != "" {
				return contract.ActionOutput{}, nonRetryable(f.Error)
			}
			if f.Output != nil && len(doc.Output) > 0 {
				problems, err := templates.ValidateValue(doc.Output, "actions/"+name+"/output", jsonShape(f.Output), "output")
				if err == nil && len(problems) > 0 {
					return contract.ActionOutput{}, nonRetryable(fmt.Sprintf("the case's fake output for %s does not match the action's output schema: %s", name, problemList(problems)))
				}
			}
			return contract.ActionOutput{Output: f.Output, Logs: []string{"fake " + name + " called (template test)"}}, nil
		}
	}
	return out
}

func nonRetryable(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, "TemplateTestFake", nil)
}

func problemList(ps []templates.Problem) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path + ": " + p.Message
	}
	return strings.Join(out, "; ")
}

// jsonShape returns v as encoding/json would decode it (numbers as
// float64), the shape schemas and comparisons expect.
func jsonShape(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return v
	}
	return out
}

// fixture is the catalog a case's catalog:fetch reads: its entities by
// canonical ref.
type fixture map[string]json.RawMessage

var _ activities.EntityReader = fixture(nil)

func newFixture(entities []map[string]any) (fixture, error) {
	f := fixture{}
	for i, e := range entities {
		ref, err := entityRef(e)
		if err != nil {
			return nil, fmt.Errorf("entities[%d]: %w", i, err)
		}
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("entities[%d]: %w", i, err)
		}
		f[ref] = body
	}
	return f, nil
}

func (f fixture) EntityByRef(_ context.Context, ref string) (*store.StoredEntity, error) {
	body, ok := f[ref]
	if !ok {
		known := make([]string, 0, len(f))
		for k := range f {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, errs.NotFound("entity %s is not among the case's entities %v", ref, known)
	}
	return &store.StoredEntity{Ref: ref, Body: body}, nil
}

// entityRef is an entity's canonical ref: it needs kind and metadata.name.
func entityRef(e map[string]any) (string, error) {
	kind, _ := e["kind"].(string)
	meta, _ := e["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if kind == "" || name == "" {
		return "", errors.New("an entity needs kind and metadata.name")
	}
	ns, _ := meta["namespace"].(string)
	return catalog.Ref{Kind: kind, Namespace: ns, Name: name}.Key(), nil
}

// withUnknown is a registry that also knows the actions of extra (actions
// rigger lacks that a case fakes), with no schema: a test of a template
// written for another Backstage can run with them faked.
type withUnknown struct {
	Lookup
	extra []string
}

func (w withUnknown) Action(name string) (templates.ActionInfo, bool) {
	if info, ok := w.Lookup.Action(name); ok {
		return info, true
	}
	if slices.Contains(w.extra, name) {
		return templates.ActionInfo{Name: name, TaskQueue: contract.QueueDefault, DefaultTimeout: time.Minute, DryRunSafe: true}, true
	}
	return templates.ActionInfo{}, false
}

func (w withUnknown) Names() []string {
	return slices.Sorted(slices.Values(append(w.Lookup.Names(), w.extra...)))
}

// unknownActions lists the actions of t's steps that reg does not know
// and c fakes by action name or step id.
func unknownActions(reg Lookup, t *templates.Template, c Case) []string {
	var out []string
	for _, st := range t.Spec.Steps {
		if _, known := reg.Action(st.Action); known || slices.Contains(out, st.Action) {
			continue
		}
		if _, ok := c.Fakes[st.Action]; ok {
			out = append(out, st.Action)
		} else if _, ok := c.Fakes[st.ID]; ok {
			out = append(out, st.Action)
		}
	}
	return out
}
