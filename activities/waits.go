package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
)

// WaitTable is where rigger:wait-for records its waits, so that the API
// server's webhook finds the runs to signal (internal/store.Waits).
type WaitTable interface {
	PutWait(ctx context.Context, key, taskID, requestID string, expires time.Time) error
	DeleteWaits(ctx context.Context, taskID, requestID string) error
}

// waitGrace keeps a wait routable a little past its deadline (clocks).
const waitGrace = time.Minute

// CheckedRegisterWait implements contract.ScaffoldRegisterWait for a run
// this worker trusts: it records the wait and, for a callback, mints the
// one-time token of its URL.
func (s *Scaffold) CheckedRegisterWait(ctx context.Context, in contract.RegisterWaitInput) (contract.RegisterWaitOutput, error) {
	c, err := s.checkRun(ctx, in.Run, in.InputHash, true)
	if err != nil {
		return contract.RegisterWaitOutput{}, err
	}
	var out contract.RegisterWaitOutput
	if in.Callback {
		if s.Trust.Marker == nil {
			return out, errNoMarker
		}
		tok := s.Trust.Marker.EncodeCallback(runsign.Callback{TaskID: c.TaskID, RequestID: in.RequestID, Expires: in.Deadline.Add(waitGrace).Unix()})
		out.CallbackPath = contract.CallbackPrefix + tok
		return out, nil
	}
	if s.Waits == nil {
		return out, refuse(errors.New("this worker has no store to record waits in; rigger:wait-for needs the catalog database"))
	}
	if err := s.Waits.PutWait(ctx, in.Key, c.TaskID, in.RequestID, in.Deadline.Add(waitGrace)); err != nil {
		return out, fmt.Errorf("record the wait: %w", err)
	}
	return out, nil
}

// secretExtender is a SecretSource that can keep a task's secrets longer
// (secretbox.Keeper).
type secretExtender interface {
	Extend(ctx context.Context, taskID string) error
}

// CheckedKeepAlive implements contract.ScaffoldKeepAlive: the run's
// workspace is marked used (Sweep keeps it another workspaceTTL) and its
// secrets kept another secretTTL.
func (s *Scaffold) CheckedKeepAlive(ctx context.Context, in contract.KeepAliveInput) error {
	c, err := s.checkRun(ctx, in.Run, in.InputHash, true)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, c.TaskID)); err == nil {
		root, err := s.Workspaces.Open(c.TaskID) // marks it used
		if err != nil {
			return err
		}
		_ = root.Close()
	}
	if ext, ok := s.Secrets.(secretExtender); ok {
		if err := ext.Extend(ctx, c.TaskID); err != nil {
			return fmt.Errorf("keep the task's secrets: %w", err)
		}
	}
	return nil
}

// CheckedEndWait implements contract.ScaffoldEndWait.
func (s *Scaffold) CheckedEndWait(ctx context.Context, in contract.EndWaitInput) error {
	c, err := s.checkRun(ctx, in.Run, in.InputHash, true)
	if err != nil {
		return err
	}
	if s.Waits == nil {
		return nil
	}
	return s.Waits.DeleteWaits(ctx, c.TaskID, in.RequestID)
}

// CheckedEvent implements contract.ScaffoldCheckEvent: an event the API
// server signed, for the wait the run is in (its key; for a callback also
// its task and request), becomes the step's marked output.
func (s *Scaffold) CheckedEvent(ctx context.Context, in contract.CheckEventInput) (contract.EventResult, error) {
	c, err := s.checkRun(ctx, in.Run, in.InputHash, true)
	if err != nil {
		return contract.EventResult{}, err
	}
	if err := s.Trust.Verifier.VerifyPurpose(contract.EventPurpose, in.Signal.Event, in.Signal.Signature); err != nil {
		return contract.EventResult{}, refuse(fmt.Errorf("the event did not come through the API: %w", err))
	}
	var e contract.Event
	if err := json.Unmarshal(in.Signal.Event, &e); err != nil {
		return contract.EventResult{}, refuse(fmt.Errorf("an unreadable event: %w", err))
	}
	if e.Key != in.Key {
		return contract.EventResult{}, refuse(fmt.Errorf("the event is for %s, not what step %s waits for", e.Key, in.StepID))
	}
	// Every event is signed for one wait: one copied from another run's
	// history (or an earlier wait of this one) is refused.
	if e.TaskID != c.TaskID || e.RequestID != in.RequestID {
		return contract.EventResult{}, refuse(fmt.Errorf("the event is for wait %s of task %s, not this one", e.RequestID, e.TaskID))
	}
	if s.Trust.Marker == nil {
		return contract.EventResult{}, errNoMarker
	}
	res := contract.EventResult{Event: e, Output: e.Data}
	if res.Output == nil {
		res.Output = map[string]any{}
	}
	if res.OutputMark, err = s.Trust.Marker.MarkStep(c.TaskID, in.StepID, StepCompleted, res.Output); err != nil {
		return contract.EventResult{}, err
	}
	return res, nil
}
