package activities

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
)

type waitRecorder struct{ puts, deletes []string }

func (w *waitRecorder) PutWait(_ context.Context, key, task, req string, _ time.Time) error {
	w.puts = append(w.puts, key+"|"+task+"|"+req)
	return nil
}
func (w *waitRecorder) DeleteWaits(_ context.Context, task, req string) error {
	w.deletes = append(w.deletes, task+"|"+req)
	return nil
}

// TestWaitActivities: the wait is recorded for the run's own task (never
// one its input names), a callback token is for this task and request,
// and an event counts only when the API server signed it for the wait's
// key (a callback: also its task and request).
func TestWaitActivities(t *testing.T) {
	signer := runsign.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32))))
	claims, sig, err := signer.Sign(runsign.Claims{TaskID: "t1", UserRef: "user:default/alice", InputHash: "h", Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := runsign.NewMarker([]byte(strings.Repeat("k", 32)))
	rec := &waitRecorder{}
	s := &Scaffold{Trust: &RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey()), Marker: m}, Waits: rec}
	grant := &contract.RunGrant{Claims: claims, Signature: sig}
	ctx := context.Background()
	deadline := time.Now().Add(time.Hour)

	if _, err := s.CheckedRegisterWait(ctx, contract.RegisterWaitInput{StepID: "w", RequestID: "w.0.1", Key: "github:x:pull:1", Deadline: deadline, Run: grant, InputHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(rec.puts, ",") != "github:x:pull:1|t1|w.0.1" {
		t.Fatalf("recorded %v", rec.puts)
	}
	if _, err := s.CheckedRegisterWait(ctx, contract.RegisterWaitInput{RequestID: "w.0.1", Key: "k", Deadline: deadline, Run: grant, InputHash: "changed"}); err == nil {
		t.Fatal("a wait of a changed input was recorded")
	}
	out, err := s.CheckedRegisterWait(ctx, contract.RegisterWaitInput{StepID: "w", RequestID: "w.0.2", Callback: true, Deadline: deadline, Run: grant, InputHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := m.DecodeCallback(strings.TrimPrefix(out.CallbackPath, contract.CallbackPrefix), time.Now())
	if err != nil || cb.TaskID != "t1" || cb.RequestID != "w.0.2" || cb.Expires < deadline.Unix() {
		t.Fatalf("callback %q: %+v %v", out.CallbackPath, cb, err)
	}
	if _, err := m.DecodeCallback(strings.TrimPrefix(out.CallbackPath, contract.CallbackPrefix), deadline.Add(2*time.Minute)); err != runsign.ErrExpiredCallback {
		t.Fatalf("after its deadline: %v", err)
	}
	if err := s.CheckedEndWait(ctx, contract.EndWaitInput{RequestID: "w.0.1", Run: grant, InputHash: "h"}); err != nil || strings.Join(rec.deletes, ",") != "t1|w.0.1" {
		t.Fatalf("end: %v %v", err, rec.deletes)
	}

	check := func(e contract.Event, key, req string, tamper func(*contract.SignedEvent)) (contract.EventResult, error) {
		b, _ := json.Marshal(e)
		se := contract.SignedEvent{Event: b, Signature: signer.SignPurpose(contract.EventPurpose, b)}
		if tamper != nil {
			tamper(&se)
		}
		return s.CheckedEvent(ctx, contract.CheckEventInput{Signal: se, StepID: "w", RequestID: req, Key: key, Run: grant, InputHash: "h"})
	}
	pr := contract.Event{Key: "github:x:pull:1", Kind: contract.WaitPullRequest, TaskID: "t1", RequestID: "w.0.1", Data: map[string]any{"merged": true}}
	res, err := check(pr, pr.Key, "w.0.1", nil)
	if err != nil || res.Output["merged"] != true {
		t.Fatalf("a signed event: %+v %v", res, err)
	}
	if err := m.CheckStep("t1", "w", StepCompleted, res.Output, res.OutputMark); err != nil {
		t.Fatalf("the output is not marked: %v", err)
	}
	cbKey := "callback:t1:w.0.2"
	for name, c := range map[string]struct {
		e      contract.Event
		key    string
		tamper func(*contract.SignedEvent)
		want   string
	}{
		"forged":            {pr, pr.Key, func(se *contract.SignedEvent) { se.Signature[0] ^= 1 }, "did not come through the API"},
		"for another wait":  {pr, pr.Key, nil, "not this one"}, // checked against request w.0.2
		"another task's pr": {contract.Event{Key: pr.Key, Kind: contract.WaitPullRequest, TaskID: "t2", RequestID: "w.0.2"}, pr.Key, nil, "not this one"},
		"a decision":        {pr, pr.Key, func(se *contract.SignedEvent) { se.Signature = signer.SignPurpose(contract.DecisionPurpose, se.Event) }, "did not come through the API"},
		"another key":       {pr, "github:x:pull:2", nil, "not what step w waits for"},
		"another task's cb": {contract.Event{Key: cbKey, Kind: contract.WaitCallback, TaskID: "t2", RequestID: "w.0.2"}, cbKey, nil, "not this one"},
		"another request":   {contract.Event{Key: cbKey, Kind: contract.WaitCallback, TaskID: "t1", RequestID: "w.0.9"}, cbKey, nil, "not this one"},
	} {
		if _, err := check(c.e, c.key, "w.0.2", c.tamper); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

type extendRecorder struct {
	SecretSource
	extended []string
}

func (e *extendRecorder) Extend(_ context.Context, task string) error {
	e.extended = append(e.extended, task)
	return nil
}

// TestKeepAlive: a waiting run's workspace is marked used (the sweep keeps
// it) and its secrets kept, for the run's own task only.
func TestKeepAlive(t *testing.T) {
	signer := runsign.NewSigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("s", 32))))
	claims, sig, _ := signer.Sign(runsign.Claims{TaskID: "t1", UserRef: "user:default/alice", InputHash: "h", Attempt: 1})
	ws := NewWorkspaces(t.TempDir(), 0, 0)
	root, err := ws.Open("t1")
	if err != nil {
		t.Fatal(err)
	}
	root.Close()
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(ws.Dir, "t1"), old, old); err != nil {
		t.Fatal(err)
	}
	ext := &extendRecorder{}
	s := &Scaffold{Trust: &RunTrust{Verifier: runsign.NewVerifier(signer.PublicKey())}, Workspaces: ws, Secrets: ext}
	if err := s.CheckedKeepAlive(context.Background(), contract.KeepAliveInput{Run: &contract.RunGrant{Claims: claims, Signature: sig}, InputHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if n, err := ws.Sweep(24*time.Hour, time.Now()); err != nil || n != 0 {
		t.Fatalf("the sweep deleted %d workspaces (%v) after a keep-alive", n, err)
	}
	if strings.Join(ext.extended, ",") != "t1" {
		t.Fatalf("extended %v", ext.extended)
	}
	if err := s.CheckedKeepAlive(context.Background(), contract.KeepAliveInput{Run: &contract.RunGrant{Claims: claims, Signature: sig}, InputHash: "x"}); err == nil {
		t.Fatal("a keep-alive for a changed input was accepted")
	}
}
