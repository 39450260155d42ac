package activities

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/templates"
)

// TestTemplateSources: a run's template base must be one of the worker's
// own template sources, whatever the signed input says.
func TestTemplateSources(t *testing.T) {
	src := TemplateSources{
		Dirs:  []string{"/srv/templates", "/srv/repos/catalog"},
		Hosts: netguard.Policy{AllowedHosts: []string{"github.com"}},
		Bases: []string{"file:///tmp/dry-run-1/template/template.yaml"},
	}
	for _, base := range []string{
		"",
		"file:///srv/templates/go/template.yaml",
		"git:/srv/repos/catalog#templates/go/template.yaml",
		"git:file:///srv/repos/catalog#t.yaml",
		"git:https://github.com/acme/t.git#template.yaml",
		"https://github.com/acme/t/blob/main/template.yaml",
		"file:///tmp/dry-run-1/template/template.yaml",
	} {
		if err := src.Check(base); err != nil {
			t.Errorf("Check(%q): %v", base, err)
		}
	}
	for _, base := range []string{
		"file:///etc/",
		"file:///etc/passwd",
		"file:///srv/templates/../../etc/passwd",
		"file:///srv/templatesX/t.yaml",
		"file://host/srv/templates/t.yaml",
		"git:/etc#passwd",
		"git:https://evil.example/t.git#t.yaml",
		"https://evil.example/t.yaml",
		"ftp://github.com/t.yaml",
		"/srv/templates/t.yaml",
	} {
		if err := src.Check(base); err == nil || !strings.Contains(err.Error(), "is not a location this worker reads templates from") {
			t.Errorf("Check(%q) = %v, want a refusal", base, err)
		}
	}
}

// TestRenderChecksOutputs: a step renders only over earlier outputs a
// worker marked for the task; an output someone else's worker returned
// (or a resume state nobody checked) is refused before rendering, and an
// empty output (a timer's) needs no mark. Rendered items come back marked.
func TestRenderChecksOutputs(t *testing.T) {
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32)))
	signer := runsign.NewSigner(priv)
	claims, sig, err := signer.Sign(runsign.Claims{TaskID: "t1", UserRef: "user:default/alice", InputHash: "h", Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := runsign.NewMarker([]byte(strings.Repeat("k", 32)))
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	s := &Scaffold{Renderer: r, Trust: &RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey()), Marker: m}}
	fetched := map[string]any{"entityRef": "group:default/a"}
	good, _ := m.MarkStep("t1", "fetch", StepCompleted, fetched)
	render := func(out map[string]any, mark string) (contract.RenderOutput, error) {
		return s.CheckedRender(context.Background(), contract.RenderInput{
			Context: contract.ScaffoldContext{TaskID: "t1", Steps: map[string]map[string]any{"fetch": out, "wait": {}}, Marks: map[string]string{"fetch": mark}},
			StepID:  "log", Action: "debug:log", Input: map[string]any{"message": "${{ steps.fetch.output.entityRef }}"},
			Run: &contract.RunGrant{Claims: claims, Signature: sig}, InputHash: "h",
		})
	}
	out, err := render(fetched, good)
	if err != nil {
		t.Fatalf("a marked output: %v", err)
	}
	if len(out.Items) != 1 || out.Items[0].Input["message"] != "group:default/a" {
		t.Fatalf("rendered %+v", out.Items)
	}
	if err := m.CheckItem(runsign.Item{TaskID: "t1", Attempt: 1, StepID: "log", Action: "debug:log"}, out.Items[0].Input, out.Items[0].Mark); err != nil {
		t.Errorf("the rendered item's mark: %v", err)
	}
	for name, c := range map[string]struct {
		out  map[string]any
		mark string
	}{
		"a changed output": {map[string]any{"entityRef": "user:default/admin"}, good},
		"no mark":          {fetched, ""},
	} {
		if _, err := render(c.out, c.mark); err == nil || !strings.Contains(err.Error(), "the output of step fetch was not produced by a worker for task t1") {
			t.Errorf("%s: %v, want a refusal naming the step", name, err)
		}
	}
}

// outcomeRecorder keeps the audit events it is given.
type outcomeRecorder struct{ events []audit.Event }

func (r *outcomeRecorder) Record(_ context.Context, e audit.Event) { r.events = append(r.events, e) }

// TestRecordOutcome: a run's end is recorded as the user, template and
// attempt its signed grant names; a run without a valid grant, for another
// task, with a changed input or an unknown outcome records nothing.
func TestRecordOutcome(t *testing.T) {
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32)))
	signer := runsign.NewSigner(priv)
	claims, sig, err := signer.Sign(runsign.Claims{TaskID: "t1", TemplateRef: "template:default/x", UserRef: "user:default/alice", InputHash: "h", Attempt: 2})
	if err != nil {
		t.Fatal(err)
	}
	rec := &outcomeRecorder{}
	s := &Scaffold{Audit: rec, Trust: &RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey())}}
	grant := &contract.RunGrant{Claims: claims, Signature: sig}
	ctx := context.Background()
	if err := s.CheckedRecordOutcome(ctx, contract.TaskOutcome{TaskID: "t1", Outcome: "failed", Step: "publish", Error: "boom", Run: grant, InputHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != 1 {
		t.Fatalf("events: %+v", rec.events)
	}
	e := rec.events[0]
	if e.Action != "scaffolder.task.fail" || e.Actor != "user:default/alice" || e.ActorKind != audit.ActorUser || e.Target != "task:t1" ||
		e.Details["template"] != "template:default/x" || e.Details["attempt"] != "2" || e.Details["step"] != "publish" || e.Reason != "boom" {
		t.Fatalf("event: %+v", e)
	}
	forged := &contract.RunGrant{Claims: claims, Signature: append([]byte{}, sig...)}
	forged.Signature[0] ^= 1
	for name, o := range map[string]contract.TaskOutcome{
		"no grant":       {TaskID: "t1", Outcome: "completed", InputHash: "h"},
		"forged grant":   {TaskID: "t1", Outcome: "completed", Run: forged, InputHash: "h"},
		"other task":     {TaskID: "t2", Outcome: "completed", Run: grant, InputHash: "h"},
		"changed input":  {TaskID: "t1", Outcome: "completed", Run: grant, InputHash: "other"},
		"unknown ending": {TaskID: "t1", Outcome: "exploded", Run: grant, InputHash: "h"},
	} {
		if err := s.CheckedRecordOutcome(ctx, o); err == nil {
			t.Errorf("%s: recorded", name)
		}
	}
	if len(rec.events) != 1 {
		t.Fatalf("refused outcomes were recorded: %+v", rec.events[1:])
	}
}

// TestCheckedDecision: a decision counts only when the API server signed
// it (for decisions, not as a run grant) for this run's task and attempt;
// an approval comes back with its output marked for later steps.
func TestCheckedDecision(t *testing.T) {
	signer := runsign.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32))))
	claims, sig, err := signer.Sign(runsign.Claims{TaskID: "t1", UserRef: "user:default/alice", InputHash: "h", Attempt: 2})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := runsign.NewMarker([]byte(strings.Repeat("k", 32)))
	s := &Scaffold{Trust: &RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey()), Marker: m}}
	grant := &contract.RunGrant{Claims: claims, Signature: sig}
	check := func(d contract.Decision, tamper func(*contract.SignedDecision)) (contract.DecisionResult, error) {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		sd := contract.SignedDecision{Decision: b, Signature: signer.SignPurpose(contract.DecisionPurpose, b)}
		if tamper != nil {
			tamper(&sd)
		}
		return s.CheckedDecision(context.Background(), contract.CheckDecisionInput{Signal: sd, Run: grant, InputHash: "h", StepID: d.StepID, RequestID: d.RequestID})
	}
	ok := contract.Decision{TaskID: "t1", StepID: "gate", RequestID: "gate.0.1", Attempt: 2, Approved: true, By: "user:default/bob", Comment: "go"}
	res, err := check(ok, nil)
	if err != nil || res.Decision != ok || res.Output["by"] != "user:default/bob" || res.Output["comment"] != "go" {
		t.Fatalf("a signed approval: %+v, %v", res, err)
	}
	if err := m.CheckStep("t1", "gate", StepCompleted, res.Output, res.OutputMark); err != nil {
		t.Errorf("the approval's output is not marked: %v", err)
	}
	if res, err := check(contract.Decision{TaskID: "t1", StepID: "gate", Attempt: 2, By: "user:default/bob"}, nil); err != nil || res.Output != nil || res.OutputMark != "" {
		t.Errorf("a signed rejection: %+v, %v (want no output)", res, err)
	}
	for name, c := range map[string]struct {
		d      contract.Decision
		tamper func(*contract.SignedDecision)
		want   string
	}{
		"forged": {ok, func(sd *contract.SignedDecision) { sd.Signature[3] ^= 1 }, "the decision was not made through the API"},
		"changed": {ok, func(sd *contract.SignedDecision) {
			sd.Decision = []byte(strings.Replace(string(sd.Decision), "bob", "eve", 1))
		}, "the decision was not made through the API"},
		"a run grant":   {ok, func(sd *contract.SignedDecision) { sd.Decision, sd.Signature = claims, sig }, "the decision was not made through the API"},
		"other task":    {contract.Decision{TaskID: "t2", StepID: "gate", Attempt: 2, Approved: true}, nil, "for task t2 attempt 2, not this run"},
		"other attempt": {contract.Decision{TaskID: "t1", StepID: "gate", Attempt: 1, Approved: true}, nil, "for task t1 attempt 1, not this run"},
	} {
		if _, err := check(c.d, c.tamper); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	b, _ := json.Marshal(ok)
	other := contract.CheckDecisionInput{Signal: contract.SignedDecision{Decision: b, Signature: signer.SignPurpose(contract.DecisionPurpose, b)}, Run: grant, InputHash: "h", StepID: "gate", RequestID: "gate.1.5"}
	if _, err := s.CheckedDecision(context.Background(), other); err == nil || !strings.Contains(err.Error(), "not on the request the run waits for, gate.1.5") {
		t.Errorf("a decision on another request of the step: %v", err)
	}
	if _, err := s.CheckedDecision(context.Background(), contract.CheckDecisionInput{Run: grant, InputHash: "other"}); err == nil {
		t.Error("a decision for a changed input was accepted")
	}
}
