package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// receipts are the store's MCP dry-run receipts.
type receipts interface {
	PutDryRunReceipt(ctx context.Context, r store.DryRunReceipt, olderThan time.Time) error
	TakeDryRunReceipt(ctx context.Context, caller, templateRef, valuesHash string, since time.Time) (store.DryRunReceipt, bool, error)
}

// testDryRunReceipts: a receipt is taken by one run only (of many racing),
// keeps its template version, is not found past the window (and is
// deleted then), and a plan past store.MaxDryRunPlan is refused.
func testDryRunReceipts(t *testing.T, open Opener) {
	ctx := context.Background()
	s, ok := open(t).(receipts)
	if !ok {
		t.Fatal("the store keeps no dry-run receipts")
	}
	now := time.Now()
	r := store.DryRunReceipt{Caller: "user:default/alice", TemplateRef: "template:default/t", ValuesHash: "h1", TemplateVersion: "uid/etag1",
		Plan: []byte(`{"status":"completed"}`), Created: now}
	if err := s.PutDryRunReceipt(ctx, r, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken []store.DryRunReceipt
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, ok, err := s.TakeDryRunReceipt(ctx, r.Caller, r.TemplateRef, r.ValuesHash, now.Add(-time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				taken = append(taken, got)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(taken) != 1 || taken[0].TemplateVersion != "uid/etag1" || string(taken[0].Plan) != string(r.Plan) || !taken[0].Created.Equal(now) {
		t.Fatalf("8 runs racing for one receipt took %+v, want it once, whole", taken)
	}

	// Past the window: not found, and gone even for a wider window.
	old := r
	old.ValuesHash, old.Created = "h2", now.Add(-30*time.Minute)
	if err := s.PutDryRunReceipt(ctx, old, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.TakeDryRunReceipt(ctx, old.Caller, old.TemplateRef, old.ValuesHash, now.Add(-15*time.Minute)); ok || err != nil {
		t.Fatalf("a receipt past the window was taken: %v %v", ok, err)
	}
	if _, ok, _ := s.TakeDryRunReceipt(ctx, old.Caller, old.TemplateRef, old.ValuesHash, now.Add(-time.Hour)); ok {
		t.Fatal("an expired receipt outlived a read")
	}

	big := r
	big.Plan = []byte(`"` + strings.Repeat("x", store.MaxDryRunPlan) + `"`)
	if err := s.PutDryRunReceipt(ctx, big, now.Add(-time.Hour)); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a plan past MaxDryRunPlan: %v, want invalid", err)
	}
}
