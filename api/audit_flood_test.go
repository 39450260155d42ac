package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
)

// recordedEvents is a Recorder that keeps what it is given (the audit
// package's own tests cover storing; this one counts what the API sends).
type recordedEvents struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recordedEvents) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events serves the audit route the test calls (every call is refused
// before it gets here).
func (r *recordedEvents) Events(context.Context, audit.Query) (audit.Page, error) {
	return audit.Page{}, nil
}

// TestAuditDenialsBoundedPerPeer: anonymous callers cannot grow the audit
// log without limit. One peer's refused requests write at most the burst,
// whatever X-Forwarded-For says; the next event kept reports how many were
// dropped, and another peer is not held back by the first.
func TestAuditDenialsBoundedPerPeer(t *testing.T) {
	rec := &recordedEvents{}
	srv := New(Deps{
		Logger: discardLogger(),
		Auth:   auth.NewServiceTokens([]auth.ServiceToken{{Name: "x", Token: strings.Repeat("x", 40), Scopes: []string{"*"}}}),
		Audit:  AuditDeps{Recorder: rec, Events: rec},
	})
	call := func(peer, xff string) int {
		req := loopbackRequest(http.MethodGet, "/api/audit/events", nil)
		req.RemoteAddr = peer + ":4242"
		req.Header.Set("X-Forwarded-For", xff)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return w.Code
	}
	for i := 0; i < 500; i++ {
		if code := call("192.0.2.1", "203.0.113."+string(rune('0'+i%10))); code != http.StatusUnauthorized {
			t.Fatalf("request %d: %d, want 401", i, code)
		}
	}
	rec.mu.Lock()
	n := len(rec.events)
	rec.mu.Unlock()
	if n < 1 || n > denialBurst+2 {
		t.Fatalf("500 refused requests from one peer wrote %d audit events, want at most about %d", n, denialBurst)
	}
	call("192.0.2.2", "")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	last := rec.events[len(rec.events)-1]
	if len(rec.events) != n+1 || last.Action != "auth.denied" || last.Details["suppressedBefore"] == "" {
		t.Fatalf("another peer's refusal: %d events, last %+v; want it recorded with the count dropped before", len(rec.events), last)
	}
}

// TestRefusedTokenAudited: a request refused for its token is
// token.use-denied; one that sent none is auth.denied.
func TestRefusedTokenAudited(t *testing.T) {
	rec := &recordedEvents{}
	srv := New(Deps{Logger: discardLogger(), Auth: auth.NewServiceTokens(nil), Audit: AuditDeps{Recorder: rec, Events: rec}})
	for _, bearer := range []string{"", "rgr_forged"} {
		req := loopbackRequest("GET", "/api/audit/events", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("%q: %d", bearer, w.Code)
		}
	}
	if len(rec.events) != 2 || rec.events[0].Action != "auth.denied" || rec.events[1].Action != "token.use-denied" {
		t.Fatalf("events %+v", rec.events)
	}
}
