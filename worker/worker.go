package worker

import (
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/workflows"
)

// DefaultQueue runs workflows and the activities that need no integration.
const DefaultQueue = contract.QueueDefault

// Deps are the dependencies activities get injected.
type Deps struct {
	Logger *slog.Logger
	// Catalog runs catalog ingestion; nil leaves it out (a worker without a
	// database).
	Catalog *activities.Catalog
	// Docs builds documentation sites; nil leaves docs builds out.
	Docs *activities.DocsBuilder
	// Scaffold runs template steps; nil leaves the scaffolder out.
	Scaffold *activities.Scaffold
	// Integrations are the actions of each integration queue
	// (contract.QueueGitHub, …), unwrapped: the worker of that queue
	// registers them checked by Scaffold (run grant, step mark, secrets)
	// and nothing else. Each was built with only its integration's
	// configuration and a broker that mints only its credentials.
	Integrations map[string]map[string]activities.ActionFunc
}

// New returns an unstarted worker for queue with everything that queue runs
// registered under explicit names (aliasing disabled, so a Go rename never
// changes a name written into histories).
func New(c client.Client, queue string, deps Deps) (sdkworker.Worker, error) {
	if deps.Logger == nil {
		return nil, fmt.Errorf("worker %s: logger is required", queue)
	}
	w := sdkworker.New(c, queue, sdkworker.Options{
		DisableRegistrationAliasing: true,
	})
	switch queue {
	case DefaultQueue:
		registerDefault(w, deps)
	case contract.QueueGitHub, contract.QueueAWS, contract.QueueTerraform:
		if deps.Scaffold == nil {
			return nil, fmt.Errorf("worker %s: the scaffolder is not configured", queue)
		}
		actions := deps.Integrations[queue]
		if len(actions) == 0 {
			return nil, fmt.Errorf("worker %s: its integration is not configured (%s)", queue, map[string]string{
				contract.QueueGitHub: "integrations.github", contract.QueueAWS: "integrations.aws: roleArn and credentials", contract.QueueTerraform: "integrations.terraform: is its binary installed?"}[queue])
		}
		for name, fn := range deps.Scaffold.CheckedIntegration(actions) {
			w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: contract.ActionActivity(name)})
		}
	default:
		return nil, fmt.Errorf("unknown task queue %q (known: %s)", queue, strings.Join(Queues(), ", "))
	}
	return w, nil
}

// Queues lists the task queues this binary can serve.
func Queues() []string {
	return []string{DefaultQueue, contract.QueueGitHub, contract.QueueAWS, contract.QueueTerraform}
}

func registerDefault(w sdkworker.Registry, deps Deps) {
	w.RegisterWorkflowWithOptions(workflows.Hello, workflow.RegisterOptions{Name: workflows.HelloName})
	hello := &activities.Hello{Logger: deps.Logger}
	w.RegisterActivityWithOptions(hello.Compose, activity.RegisterOptions{Name: contract.HelloCompose})
	w.RegisterActivityWithOptions(hello.Deliver, activity.RegisterOptions{Name: contract.HelloDeliver})
	w.RegisterWorkflowWithOptions(workflows.CatalogRefresh, workflow.RegisterOptions{Name: workflows.CatalogRefreshName})
	w.RegisterWorkflowWithOptions(workflows.CatalogAnalyze, workflow.RegisterOptions{Name: workflows.CatalogAnalyzeName})
	if sc := deps.Scaffold; sc != nil {
		registerScaffold(w, sc)
	}
	if deps.Catalog != nil {
		w.RegisterActivityWithOptions(deps.Catalog.RefreshLocation, activity.RegisterOptions{Name: contract.CatalogRefreshLocation})
		w.RegisterActivityWithOptions(deps.Catalog.AnalyzeLocation, activity.RegisterOptions{Name: contract.CatalogAnalyzeLocation})
	}
	w.RegisterWorkflowWithOptions(workflows.DocsBuild, workflow.RegisterOptions{Name: workflows.DocsBuildName})
	if deps.Docs != nil {
		w.RegisterActivityWithOptions(deps.Docs.Build, activity.RegisterOptions{Name: contract.DocsBuild})
	}
}

// registrar is what worker.Worker and the SDK's in-process environment
// (dry runs) have in common.
type registrar interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// registerScaffold registers the scaffolder workflow, its rendering
// activities and every action.
func registerScaffold(r registrar, sc *activities.Scaffold) {
	r.RegisterWorkflowWithOptions(workflows.Scaffold, workflow.RegisterOptions{Name: workflows.ScaffoldName})
	// Every step activity first checks that the API server signed the run
	// (activities.RunTrust).
	r.RegisterActivityWithOptions(sc.CheckedRender, activity.RegisterOptions{Name: contract.ScaffoldRender})
	r.RegisterActivityWithOptions(sc.CheckedRenderOutput, activity.RegisterOptions{Name: contract.ScaffoldRenderOutput})
	r.RegisterActivityWithOptions(sc.CheckedForgetSecrets, activity.RegisterOptions{Name: contract.ScaffoldForgetSecrets})
	r.RegisterActivityWithOptions(sc.CheckedRecordOutcome, activity.RegisterOptions{Name: contract.ScaffoldRecordOutcome})
	r.RegisterActivityWithOptions(sc.CheckedRunLocalStep, activity.RegisterOptions{Name: contract.ScaffoldRunLocalStep})
	r.RegisterActivityWithOptions(sc.CheckedDecision, activity.RegisterOptions{Name: contract.ScaffoldCheckDecision})
	r.RegisterActivityWithOptions(sc.CheckedRegisterWait, activity.RegisterOptions{Name: contract.ScaffoldRegisterWait})
	r.RegisterActivityWithOptions(sc.CheckedEndWait, activity.RegisterOptions{Name: contract.ScaffoldEndWait})
	r.RegisterActivityWithOptions(sc.CheckedKeepAlive, activity.RegisterOptions{Name: contract.ScaffoldKeepAlive})
	r.RegisterActivityWithOptions(sc.CheckedEvent, activity.RegisterOptions{Name: contract.ScaffoldCheckEvent})
	// External actions run in plugin workers; this worker checks their
	// input and output.
	r.RegisterActivityWithOptions(schemaChecker{sc: sc}.Check, activity.RegisterOptions{Name: contract.ScaffoldCheckSchema})
	for name, fn := range sc.CheckedActions() {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: contract.ActionActivity(name)})
	}
}
