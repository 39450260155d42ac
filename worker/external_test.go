package worker

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
)

// TestSchemaChecker: the check refuses a run it cannot verify, lists what
// does not match, and marks a matching output as this worker's (the mark
// the next step's rendering checks).
func TestSchemaChecker(t *testing.T) {
	signer := runsign.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32))))
	claims, sig, err := signer.Sign(runsign.Claims{TaskID: "t1", UserRef: "user:default/ada", InputHash: "h", Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := runsign.NewMarker([]byte(strings.Repeat("k", 32)))
	c := schemaChecker{sc: &activities.Scaffold{Trust: &activities.RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey()), Marker: m}}}
	schema := json.RawMessage(`{"type":"object","required":["greeting"],"properties":{"greeting":{"type":"string"}}}`)
	check := func(grant *contract.RunGrant, hash, where string, value map[string]any) (contract.SchemaVerdict, error) {
		return c.Check(context.Background(), contract.SchemaCheck{Action: "acme:greet", StepID: "g", Where: where, Schema: schema, Value: value, Run: grant, InputHash: hash})
	}
	grant := &contract.RunGrant{Claims: claims, Signature: sig}
	good := map[string]any{"greeting": "hi"}

	for name, g := range map[string]*contract.RunGrant{"unsigned": nil, "forged": {Claims: claims, Signature: make([]byte, len(sig))}} {
		if _, err := check(g, "h", contract.CheckOutput, good); err == nil {
			t.Errorf("%s run: the check ran", name)
		}
	}
	if _, err := check(grant, "other", contract.CheckOutput, good); err == nil || !strings.Contains(err.Error(), "does not match its plan") {
		t.Errorf("another input's hash: %v", err)
	}
	v, err := check(grant, "h", contract.CheckOutput, map[string]any{"greeting": 1})
	if err != nil || len(v.Problems) != 1 || v.Problems[0] != "output.greeting: got number, want string" || v.Mark != "" {
		t.Fatalf("a wrong output: %+v %v", v, err)
	}
	v, err = check(grant, "h", contract.CheckInput, map[string]any{})
	if err != nil || len(v.Problems) != 1 || v.Problems[0] != "input.greeting: required" || v.Mark != "" {
		t.Fatalf("a missing input: %+v %v", v, err)
	}
	v, err = check(grant, "h", contract.CheckOutput, good)
	if err != nil || len(v.Problems) != 0 {
		t.Fatalf("a good output: %+v %v", v, err)
	}
	if err := m.CheckStep("t1", "g", activities.StepCompleted, good, v.Mark); err != nil {
		t.Fatalf("the good output's mark: %v", err)
	}
	// A plugin that hands back a forged secret reference (it saw the
	// task's nonce in one it was given) is refused, unmarked: a later
	// built-in step would have resolved it to the real secret.
	forged := map[string]any{"greeting": "x " + contract.SecretRef("nonce", "dbPassword")}
	v, err = check(grant, "h", contract.CheckOutput, forged)
	if err != nil || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], "secret reference") || v.Mark != "" {
		t.Fatalf("a forged secret reference in the output: %+v %v", v, err)
	}
	v, err = check(grant, "h", contract.CheckOutput, map[string]any{"greeting": "hi", "list": []any{map[string]any{"a\x00b": 1}}})
	if err != nil || len(v.Problems) != 1 || v.Mark != "" {
		t.Fatalf("a NUL in an output key: %+v %v", v, err)
	}
	v, err = check(grant, "h", contract.CheckInput, map[string]any{"greeting": contract.SecretRef("nonce", "npmToken")})
	if err != nil || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], "never receives secrets") {
		t.Fatalf("a secret passed to a plugin: %+v %v", v, err)
	}
}

// offSwitch switches off the actions it holds (a test's
// scaffolder.disabledActions).
type offSwitch map[string]bool

func (o offSwitch) SwitchedOff(name string) bool { return o[name] }

// TestSchemaCheckerDisabledSinceCompile: an external action that a reload
// switched off after its task started is refused before the plugin is
// called (the input check), naming the action and the setting.
func TestSchemaCheckerDisabledSinceCompile(t *testing.T) {
	signer := runsign.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32))))
	claims, sig, err := signer.Sign(runsign.Claims{TaskID: "t1", UserRef: "user:default/ada", InputHash: "h", Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := runsign.NewMarker([]byte(strings.Repeat("k", 32)))
	off := offSwitch{}
	c := schemaChecker{sc: &activities.Scaffold{Disabled: off, Trust: &activities.RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey()), Marker: m}}}
	in := contract.SchemaCheck{Action: "acme:greet", StepID: "g", Where: contract.CheckInput, Schema: json.RawMessage(`{"type":"object"}`),
		Value: map[string]any{}, Run: &contract.RunGrant{Claims: claims, Signature: sig}, InputHash: "h"}
	if _, err := c.Check(context.Background(), in); err != nil {
		t.Fatalf("while on: %v", err)
	}
	off["acme:greet"] = true
	_, err = c.Check(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "action acme:greet is disabled") || !strings.Contains(err.Error(), "scaffolder.disabledActions") {
		t.Fatalf("switched off: %v", err)
	}
}
