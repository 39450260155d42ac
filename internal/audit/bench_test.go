package audit

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// BenchmarkRecord measures the audit log as the API uses it: Record from
// the request (what a request waits for) and the writer's batched appends
// behind it, flushed at the end (what the database sustains). It reports
// events/s end to end and the time Record itself takes per event.
func BenchmarkRecord(b *testing.B) {
	for _, bk := range []struct {
		name string
		open func(testing.TB) backend
	}{{"sqlite", sqliteBackend}, {"postgres", postgresBackend}} {
		b.Run(bk.name, func(b *testing.B) {
			st := bk.open(b).open(b)
			l := New(Options{Store: st, Out: io.Discard})
			ctx := context.Background()
			var inRecord time.Duration
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				t0 := time.Now()
				l.Record(ctx, event(i))
				inRecord += time.Since(t0)
			}
			if err := l.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			l.Close()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(inRecord.Nanoseconds())/float64(b.N), "ns-in-Record/op")
		})
	}
}

// BenchmarkAppendOne measures one event per transaction (no batching): the
// cost a synchronous writer would add to each request.
func BenchmarkAppendOne(b *testing.B) {
	for _, bk := range []struct {
		name string
		open func(testing.TB) backend
	}{{"sqlite", sqliteBackend}, {"postgres", postgresBackend}} {
		b.Run(bk.name, func(b *testing.B) {
			st := bk.open(b).open(b)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				e := event(i)
				e.ID, e.Time = fmt.Sprintf("bench-%d", i), time.Now()
				r, err := e.record()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := st.AppendAudit(ctx, []store.AuditRecord{r}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
