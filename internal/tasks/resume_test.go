package tasks

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// TestVerifiedResume: a retry resumes a failed run's steps, in the signed
// plan's order, only while each step's outcome carries a worker's mark
// (a debug:wait step needs none); from the first outcome without a valid
// mark every step runs again, and its output and those after it are
// dropped. Without a marking key nothing is resumed.
func TestVerifiedResume(t *testing.T) {
	m, err := runsign.NewMarker([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	const task = "t1"
	in := workflows.ScaffoldInput{TaskID: task, Plan: templates.Plan{UserRef: "user:default/alice", Steps: []templates.PlanStep{
		{ID: "skip", Action: "debug:log"}, {ID: "wait", Action: contract.ActionWait}, {ID: "fetch", Action: "catalog:fetch"},
		{ID: "write", Action: "catalog:write"}, {ID: "publish", Action: "catalog:register"},
	}}}
	mark := func(step, status string, out map[string]any) string {
		s, err := m.MarkStep(task, step, status, out)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fetched := map[string]any{"entity": map[string]any{"kind": "Group"}}
	state := func() *workflows.ScaffoldState {
		return &workflows.ScaffoldState{Attempt: 7, UserRef: "user:default/mallory", TaskID: task,
			Steps: []workflows.StepState{
				{ID: "skip", Status: workflows.StepSkipped}, {ID: "wait", Status: workflows.StepCompleted},
				{ID: "fetch", Status: workflows.StepCompleted}, {ID: "write", Status: workflows.StepCompleted},
				{ID: "publish", Status: workflows.StepFailed},
			},
			Outputs: map[string]map[string]any{"wait": {}, "fetch": fetched, "write": {}},
			Marks: map[string]string{"skip": mark("skip", workflows.StepSkipped, nil), "fetch": mark("fetch", workflows.StepCompleted, fetched),
				"write": mark("write", workflows.StepCompleted, nil)},
		}
	}
	s := &Service{d: Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Marker: m}}
	ids := func(st *workflows.ScaffoldState) string {
		var out []string
		for _, s := range st.Steps {
			out = append(out, s.ID)
		}
		return strings.Join(out, ",")
	}

	got := s.verifiedResume(in, state(), 1)
	if ids(got) != "skip,wait,fetch,write" || got.Outputs["fetch"]["entity"] == nil || got.Attempt != 1 || got.UserRef != "user:default/alice" {
		t.Errorf("a genuine state: steps %s, outputs %v, attempt %d, user %s; want every finished step, the signed attempt and user",
			ids(got), got.Outputs, got.Attempt, got.UserRef)
	}
	if got.Marks["fetch"] == "" || got.Marks["skip"] == "" {
		t.Errorf("the marks are not carried to the next run: %v", got.Marks)
	}

	forged := state()
	forged.Outputs["fetch"] = map[string]any{"entity": map[string]any{"kind": "User", "metadata": map[string]any{"name": "admin"}}}
	got = s.verifiedResume(in, forged, 1)
	if ids(got) != "skip,wait" || got.Outputs["fetch"] != nil || got.Outputs["write"] != nil {
		t.Errorf("a changed output: steps %s, outputs %v; want to resume before fetch and drop what follows", ids(got), got.Outputs)
	}

	forged = state()
	forged.Steps[0].Status = workflows.StepCompleted // skipped, says its mark
	if got = s.verifiedResume(in, forged, 1); ids(got) != "" {
		t.Errorf("a skipped step claimed completed: resumes %s, want nothing", ids(got))
	}

	forged = state()
	forged.Outputs["wait"] = map[string]any{"entityRef": "x"} // a timer has no output
	if got = s.verifiedResume(in, forged, 1); ids(got) != "skip" {
		t.Errorf("a debug:wait step with an output: resumes %s, want skip only", ids(got))
	}

	forged = state()
	forged.Steps[2], forged.Steps[3] = forged.Steps[3], forged.Steps[2] // not the plan's order
	if got = s.verifiedResume(in, forged, 1); ids(got) != "skip,wait" {
		t.Errorf("steps out of the plan's order: resumes %s", ids(got))
	}

	other, _ := runsign.NewMarker([]byte(strings.Repeat("o", 32)))
	s.d.Marker = other
	if got = s.verifiedResume(in, state(), 1); ids(got) != "" {
		t.Errorf("marks under another key: resumes %s, want nothing", ids(got))
	}
	s.d.Marker = nil
	if got = s.verifiedResume(in, state(), 1); ids(got) != "" || len(got.Outputs) != 0 {
		t.Errorf("without a marking key: resumes %s %v, want nothing", ids(got), got.Outputs)
	}
}
