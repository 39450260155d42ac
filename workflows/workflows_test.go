package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
)

func TestHello(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Hello, workflow.RegisterOptions{Name: HelloName})
	env.RegisterActivityWithOptions(func(_ context.Context, in contract.HelloComposeInput) (string, error) {
		return "Hello, " + in.Name + "!", nil
	}, activity.RegisterOptions{Name: contract.HelloCompose})
	attempts := 0
	env.RegisterActivityWithOptions(func(_ context.Context, in contract.HelloDeliverInput) (string, error) {
		if attempts++; attempts == 1 {
			return "", errors.New("transient")
		}
		return in.Greeting + " (delivered)", nil
	}, activity.RegisterOptions{Name: contract.HelloDeliver})
	env.ExecuteWorkflow(HelloName, HelloInput{Name: "x"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("hello: %v", env.GetWorkflowError())
	}
	var res HelloResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Delivered != "Hello, x! (delivered)" || attempts != 2 {
		t.Fatalf("result %+v, %v, deliver attempts %d (want a retry)", res, err, attempts)
	}
}

func TestHelloFailsOnNonRetryableError(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(Hello, workflow.RegisterOptions{Name: HelloName})
	calls := 0
	env.RegisterActivityWithOptions(func(context.Context, contract.HelloComposeInput) (string, error) {
		calls++
		return "", temporal.NewNonRetryableApplicationError("name is too long", "InvalidInput", nil)
	}, activity.RegisterOptions{Name: contract.HelloCompose})
	env.ExecuteWorkflow(HelloName, HelloInput{Name: "x"})
	if err := env.GetWorkflowError(); err == nil || calls != 1 {
		t.Fatalf("want one attempt and a failed workflow, got %d attempts, %v", calls, err)
	}
}

func TestCatalogRefreshLoop(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(CatalogRefresh, workflow.RegisterOptions{Name: CatalogRefreshName})
	refreshes := 0
	env.RegisterActivityWithOptions(func(_ context.Context, in contract.CatalogRefreshInput) (contract.CatalogRefreshResult, error) {
		refreshes++
		if in.LocationID != "loc-1" {
			return contract.CatalogRefreshResult{}, errors.New("wrong location")
		}
		return contract.CatalogRefreshResult{Entities: refreshes}, nil
	}, activity.RegisterOptions{Name: contract.CatalogRefreshLocation})
	// A signal during the first wait triggers an early refresh; the query
	// reports the latest result.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(CatalogRefreshSignal, nil)
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(CatalogRefreshQuery)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		var res contract.CatalogRefreshResult
		if err := v.Get(&res); err != nil || res.Entities != 2 {
			t.Errorf("last result %+v %v, want the second refresh", res, err)
		}
	}, 2*time.Minute)
	env.ExecuteWorkflow(CatalogRefreshName, CatalogRefreshInput{LocationID: "loc-1", Interval: time.Hour})
	// The loop continues as new after refreshesPerRun refreshes.
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if refreshes != refreshesPerRun {
		t.Fatalf("%d refreshes before continue-as-new, want %d", refreshes, refreshesPerRun)
	}
}
