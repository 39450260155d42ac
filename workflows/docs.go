package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
)

// DocsBuildName is the registered name of an entity's docs build.
const DocsBuildName = "rigger.docs.build"

// DocsRebuildSignal asks a docs build to build (again, once it is done);
// its payload is a bool: force a build of an unchanged source.
const DocsRebuildSignal = "rebuild"

// DocsWorkflowID is the workflow id of an entity's docs build: one at a
// time per entity, visible in the Temporal UI.
func DocsWorkflowID(ref string) string { return "techdocs-" + ref }

// DocsBuildWorkflowInput names the entity whose docs are built.
type DocsBuildWorkflowInput struct {
	Ref string `json:"ref"`
}

// maxDocsRebuilds bounds the builds of one run: requests that keep
// arriving while it builds start a new run afterwards.
const maxDocsRebuilds = 5

// DocsBuild builds an entity's docs, and again while requests (signals)
// arrived during the last build, so a change made while building is never
// lost. It is started with a signal (signal-with-start), which says whether
// to force the build.
func DocsBuild(ctx workflow.Context, in DocsBuildWorkflowInput) (contract.DocsBuildResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    contract.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{"NotFound", "DocsRejected"},
		},
	})
	signals := workflow.GetSignalChannel(ctx, DocsRebuildSignal)
	var res contract.DocsBuildResult
	for i := 0; i < maxDocsRebuilds; i++ {
		force, asked := false, false
		var f bool
		for signals.ReceiveAsync(&f) {
			force, asked = force || f, true
		}
		if !asked && i > 0 {
			break
		}
		var out contract.DocsBuildResult
		err := workflow.ExecuteActivity(ctx, contract.DocsBuild, contract.DocsBuildInput{Ref: in.Ref, Force: force}).Get(ctx, &out)
		if err != nil {
			return res, err
		}
		res.Updated = res.Updated || out.Updated
		res.Failed = out.Failed
	}
	return res, nil
}
