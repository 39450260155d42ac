package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// SchemaMismatchType is the error type of an external action's step whose
// input or output does not match the action's schema.
const SchemaMismatchType = "SchemaMismatch"

// runExternal runs one item of a step whose action a plugin worker serves
// (step.External, from scaffolder.externalActions):
//
//  1. the rendered input is checked against the input schema in a local
//     activity (contract.ScaffoldCheckSchema): a mismatch fails the step
//     and the plugin is never called;
//  2. the activity named by the action id runs on the action's queue,
//     with its timeouts and retry policy, given contract.PluginInput in
//     plain JSON (the plugin holds no payload key; the input holds no
//     secret);
//  3. its result is checked against the output schema in a second local
//     activity, which also marks a matching output as the workflow
//     worker's; a mismatch fails the step and the output is not kept.
//
// Every check's verdict is in history, so replay never runs the schema
// library. No version marker: only plans with External steps take this
// path, and no run before it had one.
func runExternal(ctx workflow.Context, in ScaffoldInput, run runRef, step templates.PlanStep, item contract.RenderedItem) (contract.ActionOutput, error) {
	x := step.External
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	check := func(where string, schema json.RawMessage, value map[string]any) (contract.SchemaVerdict, error) {
		var v contract.SchemaVerdict
		err := workflow.ExecuteLocalActivity(lctx, contract.ScaffoldCheckSchema, contract.SchemaCheck{
			Action: step.Action, StepID: step.ID, Where: where, Schema: schema, Value: value, Run: run.grant, InputHash: run.hash,
		}).Get(ctx, &v)
		return v, err
	}
	input := item.Input
	if input == nil {
		input = map[string]any{}
	}
	v, err := check(contract.CheckInput, x.InputSchema, input)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	if len(v.Problems) > 0 {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the input does not match the input schema of %s (the plugin was not called): %s", step.Action, strings.Join(v.Problems, "; ")),
			SchemaMismatchType, nil)
	}
	// The plugin has no key of Rigger's payload codec: its input and
	// result travel as plain JSON.
	pctx := workflow.WithDataConverter(ctx, converter.GetDefaultDataConverter())
	timeout := step.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	pctx = workflow.WithActivityOptions(pctx, workflow.ActivityOptions{
		TaskQueue:           step.TaskQueue,
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    x.HeartbeatTimeout,
		RetryPolicy:         retryPolicy(step),
	})
	var result map[string]any
	err = workflow.ExecuteActivity(pctx, step.Action, contract.PluginInput{
		Input: input,
		Run: contract.PluginRun{
			TaskID: in.TaskID, StepID: step.ID, TemplateRef: in.Plan.Template.Ref, User: in.Plan.UserRef, DryRun: in.DryRun,
		},
	}).Get(pctx, &result)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	output := contract.PluginOutput(result)
	if output == nil {
		output = map[string]any{}
	}
	if v, err = check(contract.CheckOutput, x.OutputSchema, output); err != nil {
		return contract.ActionOutput{}, err
	}
	if len(v.Problems) > 0 {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the plugin's output does not match the output schema of %s (it was not kept): %s", step.Action, strings.Join(v.Problems, "; ")),
			SchemaMismatchType, nil)
	}
	return contract.ActionOutput{
		Output: output, OutputMark: v.Mark,
		Logs: []string{fmt.Sprintf("External action %s ran on task queue %s", step.Action, step.TaskQueue)},
	}, nil
}
