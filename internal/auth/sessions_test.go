package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

func TestSessionRefreshRotatesAndDetectsReuse(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, err := NewSessions(testDB(t, filepath.Join(t.TempDir(), "r.db")), 12*time.Hour, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	first, exp, err := s.Create(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, RefreshPrefix) || !exp.Equal(c.Now().Add(12*time.Hour)) {
		t.Fatalf("token %q expires %v", first, exp)
	}
	c.Add(time.Minute)
	id, second, exp2, err := s.Refresh(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if id.Ref != alice.Ref || len(id.Ent) != 2 || id.Via != "session" || second == first || !exp2.Equal(exp) {
		t.Fatalf("refresh gave %+v, %q, %v", id, second, exp2)
	}
	// The replaced token presented again: reuse, and the whole sign-in ends.
	if _, _, _, err := s.Refresh(ctx, first); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reusing a refreshed token: %v", err)
	}
	if _, _, _, err := s.Refresh(ctx, second); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("the live token of a sign-in whose old token was reused still refreshes: %v", err)
	}

	// Logout revokes.
	tok, _, err := s.Create(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Refresh(ctx, tok); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("refresh after logout: %v", err)
	}
	// Expiry.
	tok, _, err = s.Create(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(12*time.Hour + time.Second)
	if _, _, _, err := s.Refresh(ctx, tok); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("refresh of an expired session: %v", err)
	}
	for _, bad := range []string{"", "rgs_unknown", "rgr_service"} {
		if _, _, _, err := s.Refresh(ctx, bad); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Fatalf("refresh %q: %v", bad, err)
		}
	}
	if _, _, err := s.Create(ctx, Identity{Ref: "service:ci", Service: true}); err == nil {
		t.Fatal("a service got a session")
	}
}
