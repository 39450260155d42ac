package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
)

// TestAuditEventsRoute: GET /api/audit/events needs the audit.read scope
// (or *); the refusals themselves are audited (401 as auth.denied, 403 as
// permission.denied, with actor, reason, request id and source), and so is
// a catalog mutation. Real router, real SQLite store and audit log.
func TestAuditEventsRoute(t *testing.T) {
	ctx := context.Background()
	st, ent := storeWithOneEntity(t)
	log := audit.New(audit.Options{Store: st})
	defer log.Close()
	tok := func(c byte) string { return strings.Repeat(string(c), 40) }
	srv := New(Deps{
		Logger: discardLogger(),
		Auth: auth.NewServiceTokens([]auth.ServiceToken{
			{Name: "reader", Token: tok('r'), Scopes: []string{"catalog.read", "scaffolder.admin"}},
			{Name: "auditor", Token: tok('a'), Scopes: []string{"audit.read"}},
			{Name: "root", Token: tok('x'), Scopes: []string{"*"}},
		}),
		Catalog: CatalogDeps{Store: st},
		Audit:   AuditDeps{Recorder: log, Events: log},
	})
	call := func(token, method, path string) *httptest.ResponseRecorder {
		req := loopbackRequest(method, path, nil)
		req.RemoteAddr = "192.0.2.7:4242"
		req.Header.Set("User-Agent", "audit-test")
		req.Header.Set("X-Forwarded-For", "203.0.113.9") // forged: only a detail
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w
	}
	denied := call(tok('r'), "GET", "/api/audit/events")
	if denied.Code != http.StatusForbidden || !strings.Contains(denied.Body.String(), "audit.read scope") {
		t.Fatalf("audit events with catalog.read only: %d %s", denied.Code, denied.Body.String())
	}
	if w := call("", "GET", "/api/audit/events"); w.Code != http.StatusUnauthorized {
		t.Fatalf("audit events without a token: %d", w.Code)
	}
	if w := call(tok('a'), "GET", "/api/catalog/entities"); w.Code != http.StatusForbidden {
		t.Fatalf("audit.read reads the catalog: %d", w.Code)
	}
	if w := call(tok('x'), "DELETE", "/api/catalog/entities/by-uid/"+ent.UID); w.Code != http.StatusNoContent {
		t.Fatalf("delete entity: %d %s", w.Code, w.Body.String())
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var page struct {
		Items []audit.StoredEvent `json:"items"`
	}
	for _, token := range []string{tok('a'), tok('x')} {
		w := call(token, "GET", "/api/audit/events?limit=10")
		if w.Code != http.StatusOK {
			t.Fatalf("audit events with audit.read: %d %s", w.Code, w.Body.String())
		}
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	byAction := map[string]audit.Event{}
	for _, it := range page.Items {
		got = append(got, it.Event.Action)
		byAction[it.Event.Action] = it.Event
	}
	// Newest first; the first listing's own request is not an event.
	if strings.Join(got, " ") != "catalog.entity.delete permission.denied auth.denied permission.denied" {
		t.Fatalf("events: %v", got)
	}
	// The first 403 (reader asking for audit events).
	first := page.Items[len(page.Items)-1].Event
	if first.Actor != "service:reader" || first.ActorKind != audit.ActorService || first.Decision != audit.Deny ||
		!strings.Contains(first.Reason, "audit.read scope") || first.Target != "/api/audit/events" ||
		first.RequestID != denied.Header().Get("X-Request-Id") || first.RequestID == "" ||
		first.SourceIP != "192.0.2.7" || first.UserAgent != "audit-test" || first.Details["forwardedFor"] != "203.0.113.9" {
		t.Fatalf("permission.denied event: %+v", first)
	}
	if a := byAction["auth.denied"]; a.Actor != "" || a.ActorKind != audit.ActorAnonymous || !strings.Contains(a.Reason, "missing bearer token") {
		t.Fatalf("auth.denied event: %+v", a)
	}
	if d := byAction["catalog.entity.delete"]; d.Actor != "service:root" || d.Decision != audit.Allow || d.Target != "entity-uid:"+ent.UID {
		t.Fatalf("catalog.entity.delete event: %+v", d)
	}
	if w := call(tok('a'), "GET", "/api/audit/events?action=auth.denied"); !strings.Contains(w.Body.String(), `"auth.denied"`) || strings.Contains(w.Body.String(), "permission.denied") {
		t.Fatalf("filter by action: %s", w.Body.String())
	}
	if w := call(tok('a'), "GET", "/api/audit/events?since=yesterday"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "since") {
		t.Fatalf("bad since: %d %s", w.Code, w.Body.String())
	}
	if res, err := audit.Verify(ctx, st, nil); err != nil || res.Events != 4 {
		t.Fatalf("chain after the API's events: %+v, %v", res, err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:tok@github.com/a/b.yaml?token=x": "https://github.com/a/b.yaml",
		"https://github.com/a/b.git#teams/*.yaml":      "https://github.com/a/b.git#teams/*.yaml",
		"/abs/catalog-info.yaml":                       "/abs/catalog-info.yaml",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
