package worker

import (
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
)

// TestEveryRegisteredActionIsImplemented: the registry (what templates may
// use) and the activities a worker registers (what can run) agree.
func TestEveryRegisteredActionIsImplemented(t *testing.T) {
	impl := (&activities.Scaffold{}).Actions()
	for _, name := range contract.NewRegistry(nil).Names() {
		if name == contract.ActionWait || name == contract.ActionApproval || name == contract.ActionWaitFor {
			continue // a durable timer or signal in the workflow, no activity
		}
		if impl[name] == nil {
			t.Errorf("action %s is in the registry but has no implementation", name)
		}
		if _, ok := contract.ActionDocs(name); !ok {
			t.Errorf("action %s has no schema doc", name)
		}
	}
	for name := range impl {
		if _, ok := contract.NewRegistry(nil).Action(name); !ok {
			t.Errorf("action %s is implemented but not in the registry", name)
		}
	}
}
