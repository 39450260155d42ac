package activities

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/riggerdev/rigger/activities/contract"
)

// keepAlive records a heartbeat every contract.HeartbeatInterval until stop
// is called or ctx ends, so the server notices within
// contract.HeartbeatTimeout when this worker dies and retries the activity.
// details, if not nil, gives the progress recorded with each heartbeat (the
// Temporal UI shows it on the pending activity; a retry can read it with
// activity.GetHeartbeatDetails). Outside a regular activity (a local
// activity, a direct call in a test) it does nothing.
func keepAlive(ctx context.Context, details func() any) (stop func()) {
	return keepAliveEvery(ctx, contract.HeartbeatInterval, details)
}

func keepAliveEvery(ctx context.Context, every time.Duration, details func() any) (stop func()) {
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).IsLocalActivity {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				var d any
				if details != nil {
					d = details()
				}
				if d != nil {
					activity.RecordHeartbeat(ctx, d)
				} else {
					activity.RecordHeartbeat(ctx)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// progress is an action's heartbeat details: what it recorded with
// RecordProgress, or what an earlier attempt recorded, so the wrapper's
// keep-alive heartbeats never overwrite it with nothing.
type progress struct {
	mu sync.Mutex
	v  any
}

type progressKey struct{}

func (p *progress) get() any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.v
}

// withProgress gives an action's context its progress, starting from
// the details an earlier attempt recorded (kept as raw JSON).
func withProgress(ctx context.Context) (context.Context, *progress) {
	p := &progress{}
	if activity.IsActivity(ctx) && !activity.GetInfo(ctx).IsLocalActivity && activity.HasHeartbeatDetails(ctx) {
		var raw json.RawMessage
		if activity.GetHeartbeatDetails(ctx, &raw) == nil && len(raw) > 0 && string(raw) != "null" {
			p.v = raw
		}
	}
	return context.WithValue(ctx, progressKey{}, p), p
}

// RecordProgress records v as the running action's heartbeat details,
// now and with every later keep-alive heartbeat: a retry of the activity
// reads it with activity.GetHeartbeatDetails (e.g. "this dispatch was
// sent"). The SDK sends heartbeats in batches (up to 0.8 × the heartbeat
// timeout apart), so a worker that dies within that window may not have
// sent it: at-least-once stays possible there. Outside a regular activity
// it does nothing.
func RecordProgress(ctx context.Context, v any) {
	if p, ok := ctx.Value(progressKey{}).(*progress); ok {
		p.mu.Lock()
		p.v = v
		p.mu.Unlock()
	}
	if activity.IsActivity(ctx) && !activity.GetInfo(ctx).IsLocalActivity {
		activity.RecordHeartbeat(ctx, v)
	}
}
