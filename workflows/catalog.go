package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
)

// CatalogRefreshName is the registered name of the per-location refresh loop.
const CatalogRefreshName = "rigger.catalog.refresh"

// CatalogRefreshSignal asks a refresh loop to refresh now.
const CatalogRefreshSignal = "refresh"

// CatalogRefreshQuery returns the last refresh result.
const CatalogRefreshQuery = "lastResult"

// CatalogWorkflowID is the workflow id of a location's refresh loop.
func CatalogWorkflowID(locationID string) string { return "catalog-location-" + locationID }

// CatalogRefreshInput configures a refresh loop.
type CatalogRefreshInput struct {
	LocationID string        `json:"locationId"`
	Interval   time.Duration `json:"interval"`
}

// refreshesPerRun bounds history: after this many refreshes the loop
// continues as new.
const refreshesPerRun = 50

// CatalogRefresh refreshes one location now and then every Interval, or at
// once when signalled. It runs until its location is deleted (the API
// terminates it) and is visible in the Temporal UI as one workflow per
// location.
func CatalogRefresh(ctx workflow.Context, in CatalogRefreshInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		// The refresh heartbeats: a refresh lost with its worker is
		// retried within seconds, not after the 10 minutes. Activity
		// options are not compared on replay: no version marker needed.
		HeartbeatTimeout: contract.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{"NotFound"},
		},
	})
	var last contract.CatalogRefreshResult
	if err := workflow.SetQueryHandler(ctx, CatalogRefreshQuery, func() (contract.CatalogRefreshResult, error) { return last, nil }); err != nil {
		return err
	}
	signals := workflow.GetSignalChannel(ctx, CatalogRefreshSignal)
	for i := 0; i < refreshesPerRun; i++ {
		// Requests that arrived before this refresh are served by it.
		for signals.ReceiveAsync(nil) {
		}
		var res contract.CatalogRefreshResult
		err := workflow.ExecuteActivity(ctx, contract.CatalogRefreshLocation, contract.CatalogRefreshInput{LocationID: in.LocationID}).Get(ctx, &res)
		if err != nil {
			workflow.GetLogger(ctx).Warn("catalog refresh failed", "location", in.LocationID, "error", err)
			res = contract.CatalogRefreshResult{Errors: []string{err.Error()}}
		}
		last = res
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, in.Interval), func(workflow.Future) {})
		sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			// Coalesce a burst of refresh requests into one refresh.
			for c.ReceiveAsync(nil) {
			}
		})
		sel.Select(ctx)
		cancel()
	}
	return workflow.NewContinueAsNewError(ctx, CatalogRefreshName, in)
}

// CatalogAnalyzeName is the registered name of the dry-run workflow.
const CatalogAnalyzeName = "rigger.catalog.analyze"

// CatalogAnalyze runs one dry-run read of a location and returns what it
// found. It is short-lived: the API waits for it.
func CatalogAnalyze(ctx workflow.Context, in contract.CatalogAnalyzeInput) (contract.CatalogAnalyzeResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    contract.HeartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var res contract.CatalogAnalyzeResult
	err := workflow.ExecuteActivity(ctx, contract.CatalogAnalyzeLocation, in).Get(ctx, &res)
	return res, err
}
