package storetest

import (
	"context"
	"testing"
	"time"
)

// testWaits checks the wait routing table and the delivery replay guard.
func testWaits(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	now := time.Now()
	key := "github:github.com/acme/payments:pull:12"
	for _, w := range []struct{ task, req string }{{"t1", "r1"}, {"t2", "r1"}} {
		if err := s.PutWait(ctx, key, w.task, w.req, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Putting the same wait again replaces it (a retried activity).
	if err := s.PutWait(ctx, key, "t1", "r1", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWait(ctx, key, "t3", "r1", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWait(ctx, "other", "t4", "r1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.WaitsFor(ctx, key, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].TaskID != "t1" || got[1].TaskID != "t2" || got[0].Expires.Before(now.Add(90*time.Minute)) {
		t.Fatalf("waits for %s: %+v (want t1 and t2; the expired t3 left out)", key, got)
	}
	if got, _ := s.WaitsFor(ctx, key, 1); len(got) != 1 {
		t.Fatalf("limit 1 gave %d", len(got))
	}
	if err := s.DeleteWaits(ctx, "t1", "r1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.WaitsFor(ctx, key, 10); len(got) != 1 || got[0].TaskID != "t2" {
		t.Fatalf("after delete: %+v", got)
	}

	first, err := s.FirstDelivery(ctx, "d-1", now.Add(time.Hour))
	if err != nil || !first {
		t.Fatalf("first delivery: %v %v", first, err)
	}
	again, err := s.FirstDelivery(ctx, "d-1", now.Add(time.Hour))
	if err != nil || again {
		t.Fatalf("a replayed delivery was new: %v %v", again, err)
	}
	if err := s.ForgetDelivery(ctx, "d-1"); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := s.FirstDelivery(ctx, "d-1", now.Add(time.Hour)); !fresh {
		t.Fatal("a forgotten delivery still counted")
	}
	// An expired record no longer blocks the id.
	if _, err := s.FirstDelivery(ctx, "d-2", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := s.FirstDelivery(ctx, "d-2", now.Add(time.Hour)); !fresh {
		t.Fatal("an expired delivery record still counted")
	}
}
