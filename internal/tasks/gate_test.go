package tasks

import (
	"slices"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// TestWithGate: the gate goes right before the first step with outside
// effects, allows its creator to decide, and leaves a template without
// such steps (and the template itself) unchanged.
func TestWithGate(t *testing.T) {
	steps := []templates.Step{{ID: "write", Action: "fs:write"}, {ID: "log", Action: "debug:log"},
		{ID: "publish", Action: "publish:github"}, {ID: "register", Action: "catalog:register"}}
	got := withGate(steps, &Gate{Message: "m"})
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if want := []string{"write", "log", GateStepID, "publish", "register"}; !slices.Equal(ids, want) {
		t.Fatalf("steps %v, want %v", ids, want)
	}
	in, _ := got[2].Input.(map[string]any)
	if got[2].Action != contract.ActionApproval || in["allowSelfApproval"] != true || in["message"] != "m" {
		t.Errorf("gate %+v", got[2])
	}
	if len(steps) != 4 {
		t.Errorf("the template's steps changed: %v", steps)
	}
	pure := steps[:2]
	if got := withGate(pure, &Gate{}); len(got) != 2 {
		t.Errorf("a run without outside effects got a gate: %v", got)
	}
}
