package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/workflows"
)

// WaitRouter finds the runs waiting for an outside event and remembers
// webhook deliveries already accepted (store.Waits implements it).
type WaitRouter interface {
	WaitsFor(ctx context.Context, key string, limit int) ([]store.Wait, error)
	FirstDelivery(ctx context.Context, id string, expires time.Time) (bool, error)
	ForgetDelivery(ctx context.Context, id string) error
}

// maxSignalledWaits bounds the runs one webhook delivery wakes.
const maxSignalledWaits = 1000

// DeliveryMemory is how long a webhook delivery (its id, its body's hash)
// is remembered: longer than the longest wait, so that a body captured
// once can never end a later wait.
const DeliveryMemory = contract.MaxWaitFor + 24*time.Hour

// Callback delivers payload to the wait a callback token names: the
// token is the whole authority (a MAC of the workers' marking key, for one
// wait, until its deadline). A wait takes one call: later ones conflict.
func (s *Service) Callback(ctx context.Context, token string, payload any) (string, error) {
	if s.d.Marker == nil || s.d.Signer == nil {
		return "", fmt.Errorf("%w: callbacks need scaffolder.secretKey and scaffolder.runSigningKey", errs.ErrUnavailable)
	}
	cb, err := s.d.Marker.DecodeCallback(token, time.Now())
	switch {
	case errors.Is(err, runsign.ErrExpiredCallback):
		return "", errs.Forbidden("this callback URL expired: its wait is over")
	case err != nil:
		return "", errs.Forbidden("this is not a callback URL of this Rigger (its token does not verify)")
	}
	t, err := s.load(ctx, cb.TaskID)
	if err != nil {
		return "", err
	}
	if t.WorkerUnavailable {
		// Its state is unknown (no worker answers, e.g. mid-deploy): a
		// 409 would tell the sender to give up on a wait that may still
		// be open; a 503 asks it to try again.
		return "", fmt.Errorf("%w: no worker answers for task %s right now; send the callback again shortly", errs.ErrUnavailable, cb.TaskID)
	}
	if !waitsOn(t, cb.RequestID) {
		return "", errs.Conflict("task %s no longer waits for this callback: it was called already, timed out, or the task ended", cb.TaskID)
	}
	e := contract.Event{Key: "callback:" + cb.TaskID + ":" + cb.RequestID, TaskID: cb.TaskID, RequestID: cb.RequestID,
		Kind: contract.WaitCallback, Data: map[string]any{"payload": payload}, At: time.Now().UTC()}
	if err := s.signalEvent(ctx, cb.TaskID, e); err != nil {
		return "", err
	}
	return cb.TaskID, nil
}

// waitsOn says whether t's run waits on requestID now.
func waitsOn(t *Task, requestID string) bool {
	if t.Status != StatusProcessing || t.State == nil {
		return false
	}
	for _, st := range t.State.Steps {
		if st.Status == workflows.StepProcessing && st.Wait != nil && st.Wait.RequestID == requestID && st.Wait.Outcome == "" {
			return true
		}
	}
	return false
}

// DeliverEvent routes a verified webhook event to every run waiting for
// key, each signed for its own wait, once per delivery: any of ids seen
// before (the delivery's id, its body's hash) makes it a replay, which
// wakes nobody (and says so). When signalling fails the delivery is
// forgotten, so that GitHub's redelivery is not taken for a replay. It
// returns the tasks signalled.
func (s *Service) DeliverEvent(ctx context.Context, ids []string, key, kind string, data map[string]any) (tasks []string, replay bool, err error) {
	if s.d.Waits == nil || s.d.Signer == nil {
		return nil, false, fmt.Errorf("%w: webhooks need the catalog database and scaffolder.runSigningKey", errs.ErrUnavailable)
	}
	var recorded []string
	forget := func() {
		for _, id := range recorded {
			_ = s.d.Waits.ForgetDelivery(context.WithoutCancel(ctx), id)
		}
	}
	for _, id := range ids {
		fresh, err := s.d.Waits.FirstDelivery(ctx, id, time.Now().Add(DeliveryMemory))
		if err != nil {
			forget()
			return nil, false, err
		}
		if !fresh {
			forget()
			return nil, true, nil
		}
		recorded = append(recorded, id)
	}
	waits, err := s.d.Waits.WaitsFor(ctx, key, maxSignalledWaits)
	if err != nil {
		forget()
		return nil, false, err
	}
	for _, w := range waits {
		e := contract.Event{Key: key, TaskID: w.TaskID, RequestID: w.RequestID, Kind: kind, Data: data, Delivery: ids[0], At: time.Now().UTC()}
		if err := s.signalEvent(ctx, w.TaskID, e); err != nil {
			if errors.Is(err, errs.ErrNotFound) {
				continue // ended meanwhile
			}
			forget()
			return tasks, false, err
		}
		tasks = append(tasks, w.TaskID)
	}
	return tasks, false, nil
}

func (s *Service) signalEvent(ctx context.Context, taskID string, e contract.Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	signal := contract.SignedEvent{Event: b, Signature: s.d.Signer.SignPurpose(contract.EventPurpose, b)}
	err = s.d.Temporal.SignalWorkflow(ctx, taskID, "", workflows.ScaffoldEventSignal, signal)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return errs.NotFound("no running task with id %q", taskID)
	}
	if err != nil {
		return fmt.Errorf("signal task %s: %w", taskID, errs.ErrUnavailable)
	}
	return nil
}
