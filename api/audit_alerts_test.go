package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
)

// TestAuditEventsCarryOwnership: an event records the caller's ownership
// refs, so the catalogMutations alert rule sees the caller's groups; a
// change by a caller outside the allowed group raises an alert in the
// same chain.
func TestAuditEventsCarryOwnership(t *testing.T) {
	ctx := context.Background()
	st, ent := storeWithOneEntity(t)
	log := audit.New(audit.Options{Store: st, Alerts: audit.AlertOptions{
		CatalogMutations: &audit.CatalogMutationsRule{Name: "catalogMutations", Allowed: []string{"group:default/platform-team"}}}})
	defer log.Close()
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Catalog: CatalogDeps{Store: st}, Audit: AuditDeps{Recorder: log, Events: log}})
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, loopbackRequest("DELETE", "/api/catalog/entities/by-uid/"+ent.UID, nil))
	if w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body.String())
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := log.Events(ctx, audit.Query{})
	if err != nil || len(p.Events) != 2 {
		t.Fatalf("events: %+v, %v", p, err)
	}
	alert, del := p.Events[0].Event, p.Events[1].Event
	if del.Action != "catalog.entity.delete" || !slices.Equal(del.Ownership, []string{auth.GuestRef}) {
		t.Fatalf("delete event: %+v, want the guest's ownership refs", del)
	}
	if alert.Action != audit.ActionAlert || alert.Target != "catalogMutations" || alert.Details["actor"] != auth.GuestRef || alert.Details["event"] != del.ID {
		t.Fatalf("alert: %+v", alert)
	}
	if _, err := audit.Verify(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
}
