package worker

import (
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/aws"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/github"
	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/credentials"
)

// TestEveryRegisteredActionIsImplemented: the registry (what templates may
// use) and the activities the workers register (what can run) agree, each
// action on the queue whose worker implements it.
func TestEveryRegisteredActionIsImplemented(t *testing.T) {
	gh, err := github.Actions(nil, github.Config{Hosts: []github.Host{{Host: "github.com", Token: credentials.NewSecret("x")}}}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tf, err := terraform.Actions(nil, terraform.Config{Binary: "/usr/bin/terraform"}, terraform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	impl := map[string]map[string]activities.ActionFunc{
		contract.QueueDefault:   (&activities.Scaffold{}).Actions(),
		contract.QueueGitHub:    gh,
		contract.QueueAWS:       aws.Actions(nil, aws.Config{}),
		contract.QueueTerraform: tf,
	}
	reg := contract.NewRegistry(nil)
	for _, name := range reg.Names() {
		if name == contract.ActionWait || name == contract.ActionApproval || name == contract.ActionWaitFor {
			continue // a durable timer or signal in the workflow, no activity
		}
		info, _ := reg.Action(name)
		if impl[info.TaskQueue][name] == nil {
			t.Errorf("action %s is in the registry on %s, whose worker does not implement it", name, info.TaskQueue)
		}
		if _, ok := contract.ActionDocs(name); !ok {
			t.Errorf("action %s has no schema doc", name)
		}
	}
	for queue, actions := range impl {
		for name := range actions {
			if info, ok := reg.Action(name); !ok || info.TaskQueue != queue {
				t.Errorf("action %s is implemented on %s but the registry says %q", name, queue, info.TaskQueue)
			}
		}
	}
}
