package activities

import (
	"context"
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
				if details != nil {
					activity.RecordHeartbeat(ctx, details())
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
