package activities

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
)

// TestDisabledSinceCompile: a step whose action scaffolder.disabledActions
// switched off after its task was compiled is refused when the step runs,
// both as a local step and as an action activity (an integration's), with
// a non-retryable error naming the action, the step and the setting; the
// action never runs. A wait (rigger:approval), which runs in the
// workflow, is refused when its step renders. Switched on again, the same step runs: the check
// reads the registry's live set, not the one it started with.
func TestDisabledSinceCompile(t *testing.T) {
	signer := runsign.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32))))
	claims, sig, err := signer.Sign(runsign.Claims{TaskID: "t1", UserRef: "user:default/alice", InputHash: "h", Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := runsign.NewMarker([]byte(strings.Repeat("k", 32)))
	s, _ := newScaffold(t)
	reg := contract.NewRegistry(nil)
	s.Disabled = reg
	s.Trust = &RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey()), Marker: m}
	grant := &contract.RunGrant{Claims: claims, Signature: sig}
	ctx := context.Background()
	if root, err := s.Workspaces.Open("t1"); err != nil {
		t.Fatal(err)
	} else {
		_ = root.Close()
	}

	local := func() error {
		_, err := s.CheckedRunLocalStep(ctx, contract.LocalStepInput{
			Render: contract.RenderInput{Context: contract.ScaffoldContext{TaskID: "t1"}, StepID: "note", Action: "debug:log",
				Input: map[string]any{"message": "hello"}, Run: grant, InputHash: "h"},
			Action: "debug:log",
			Base:   contract.ActionInput{TaskID: "t1", StepID: "note", Run: grant},
		})
		return err
	}
	const integ = "github:issues:label"
	calls := 0
	act := s.CheckedIntegration(map[string]ActionFunc{integ: func(context.Context, contract.ActionInput) (contract.ActionOutput, error) {
		calls++
		return contract.ActionOutput{}, nil
	}})[integ]
	// Rendered while on: the reload lands between the rendering and the
	// activity.
	r, err := s.CheckedRender(ctx, contract.RenderInput{Context: contract.ScaffoldContext{TaskID: "t1"}, StepID: "label", Action: integ,
		Input: map[string]any{"labels": []any{"x"}}, Run: grant, InputHash: "h"})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	remote := func() error {
		_, err := act(ctx, contract.ActionInput{StepID: "label", Input: r.Items[0].Input, Mark: r.Items[0].Mark, Run: grant})
		return err
	}

	if err := local(); err != nil {
		t.Fatalf("debug:log while on: %v", err)
	}
	if err := remote(); err != nil || calls != 1 {
		t.Fatalf("%s while on: %v (%d calls)", integ, err, calls)
	}

	reg.SetDisabled([]string{"debug:log", integ})
	var app *temporal.ApplicationError
	for name, c := range map[string]struct {
		run          func() error
		action, step string
	}{"local step": {local, "debug:log", "note"}, "action activity": {remote, integ, "label"}} {
		err := c.run()
		if !errors.As(err, &app) || app.Type() != DisabledType || !app.NonRetryable() {
			t.Fatalf("%s after the reload: %v, want a non-retryable %s", name, err, DisabledType)
		}
		for _, want := range []string{"action " + c.action + " is disabled", "scaffolder.disabledActions", "step " + c.step + " of task t1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", name, err, want)
			}
		}
	}
	if calls != 1 {
		t.Fatalf("the switched-off action ran: %d calls", calls)
	}
	// A wait runs in the workflow: its rendering refuses it.
	reg.SetDisabled([]string{contract.ActionApproval})
	_, err = s.CheckedRender(ctx, contract.RenderInput{Context: contract.ScaffoldContext{TaskID: "t1"}, StepID: "gate", Action: contract.ActionApproval,
		Input: map[string]any{"message": "ok?"}, Run: grant, InputHash: "h"})
	if !errors.As(err, &app) || app.Type() != DisabledType || !strings.Contains(err.Error(), "action rigger:approval is disabled") {
		t.Fatalf("rendering a switched-off approval: %v", err)
	}

	reg.SetDisabled(nil)
	if err := local(); err != nil {
		t.Fatalf("debug:log switched on again: %v", err)
	}
	if err := remote(); err != nil || calls != 2 {
		t.Fatalf("%s switched on again: %v (%d calls)", integ, err, calls)
	}
}

// TestDisabledExternalNotRegisteredHere: an action switched off by
// scaffolder.disabledActions is refused by the step's re-check even when
// this process's registry does not know it (an external action, such as
// acme:deploy, that this worker's scaffolder.externalActions does not
// declare): the check reads the live off set, not the registry's names.
func TestDisabledExternalNotRegisteredHere(t *testing.T) {
	reg := contract.NewRegistry(nil)
	s := &Scaffold{Disabled: reg}
	if err := s.StillEnabled("acme:deploy", "ship", "t1"); err != nil {
		t.Fatalf("while on: %v", err)
	}
	reg.SetDisabled([]string{"acme:deploy"})
	var app *temporal.ApplicationError
	err := s.StillEnabled("acme:deploy", "ship", "t1")
	if !errors.As(err, &app) || app.Type() != DisabledType || !strings.Contains(err.Error(), "action acme:deploy is disabled") {
		t.Fatalf("acme:deploy switched off but not registered here: %v, want a %s error", err, DisabledType)
	}
	if reg.Disabled("acme:deploy") {
		t.Fatal("Registry.Disabled should still answer only for its own actions (validation's message)")
	}
}
