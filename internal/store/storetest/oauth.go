package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// testOAuthClients checks the bounds of client registration (in all, per
// address, per network; only unused clients count per source), that a
// client which never redeemed a code expires, that one which did stays,
// and that deleting a client ends its grants and codes.
func testOAuthClients(t *testing.T, s store.Store) {
	ctx := context.Background()
	o, ok := s.(store.OAuthStore)
	if !ok {
		t.Fatalf("%T keeps no OAuth clients", s)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lim := store.OAuthClientLimits{Max: 6, PerAddress: 2, PerNetwork: 3, UnusedTTL: 24 * time.Hour}
	client := func(id, from, net string, at time.Time) store.OAuthClient {
		return store.OAuthClient{ID: id, Name: id, RedirectURIs: []string{"http://127.0.0.1/cb"}, Created: at, From: from, Net: net}
	}
	mustCreate := func(c store.OAuthClient) {
		t.Helper()
		if err := o.CreateOAuthClient(ctx, c, lim); err != nil {
			t.Fatalf("create %s: %v", c.ID, err)
		}
	}
	refused := func(c store.OAuthClient) {
		t.Helper()
		if err := o.CreateOAuthClient(ctx, c, lim); !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("create %s: got %v, want a conflict", c.ID, err)
		}
	}
	ids := func() []string {
		t.Helper()
		cls, err := o.OAuthClients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cls {
			out = append(out, c.ID)
		}
		return out
	}

	// Per address: two unused clients from 2001:db8::1, then refused.
	mustCreate(client("a1", "2001:db8::1", "2001:db8::/64", t0))
	mustCreate(client("a2", "2001:db8::1", "2001:db8::/64", t0.Add(time.Minute)))
	refused(client("a3", "2001:db8::1", "2001:db8::/64", t0.Add(2*time.Minute)))
	// Per network: another address of the same /64 gets one more.
	mustCreate(client("b1", "2001:db8::2", "2001:db8::/64", t0.Add(3*time.Minute)))
	refused(client("b2", "2001:db8::3", "2001:db8::/64", t0.Add(4*time.Minute)))

	// A used client no longer counts against its source, and stays.
	if err := o.CreateOAuthCode(ctx, store.OAuthCode{Hash: "h-a1", Client: "a1", RedirectURI: "http://127.0.0.1/cb", Challenge: "c", UserRef: "user:default/alice",
		Expires: t0.Add(6 * time.Minute)}, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := o.RedeemOAuthCode(ctx, "h-a1", t0.Add(5*time.Minute), "fam-a1"); err != nil {
		t.Fatal(err)
	}
	if c, err := o.OAuthClientByID(ctx, "a1"); err != nil || !c.LastUsed.Equal(t0.Add(5*time.Minute)) || c.Net != "2001:db8::/64" || c.From != "2001:db8::1" {
		t.Fatalf("a1 after a redemption: %+v %v", c, err)
	}
	mustCreate(client("a4", "2001:db8::1", "2001:db8::/64", t0.Add(6*time.Minute)))

	// In all: six clients, then refused from anywhere.
	mustCreate(client("c1", "192.0.2.7", "192.0.2.7", t0.Add(7*time.Minute)))
	mustCreate(client("c2", "192.0.2.8", "192.0.2.8", t0.Add(8*time.Minute)))
	refused(client("c3", "192.0.2.9", "192.0.2.9", t0.Add(9*time.Minute)))
	if got, want := ids(), []string{"a1", "a2", "b1", "a4", "c1", "c2"}; !slices.Equal(got, want) {
		t.Fatalf("clients %v, want %v", got, want)
	}

	// A day on, the unused clients are gone and registration is open
	// again; the used one stays.
	mustCreate(client("d1", "192.0.2.9", "192.0.2.9", t0.Add(24*time.Hour+7*time.Minute+time.Second)))
	if got, want := ids(), []string{"a1", "c2", "d1"}; !slices.Equal(got, want) {
		t.Fatalf("after a day: clients %v, want %v", got, want)
	}

	// Deleting a client ends its grant and drops its codes.
	sess := store.Session{ID: "s-a1", Family: "fam-a1", Hash: "sh-a1", UserRef: "user:default/alice", Created: t0.Add(5 * time.Minute),
		Expires: t0.Add(30 * 24 * time.Hour), Client: "a1", Scopes: []string{"mcp:read"}}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(25 * time.Hour)
	c, grants, err := o.DeleteOAuthClient(ctx, "a1", at)
	if err != nil || c.ID != "a1" || grants != 1 {
		t.Fatalf("delete a1: %+v %d %v", c, grants, err)
	}
	if got, err := s.SessionByHash(ctx, "sh-a1"); err != nil || !got.Revoked.Equal(at) {
		t.Fatalf("a1's grant after the delete: %+v %v", got, err)
	}
	revs, err := s.RevocationsSince(ctx, t0, at)
	if err != nil || !slices.ContainsFunc(revs, func(r store.Revocation) bool { return r.Kind == store.RevokeSession && r.ID == "fam-a1" }) {
		t.Fatalf("no revocation of a1's access tokens: %+v %v", revs, err)
	}
	if _, err := o.RedeemOAuthCode(ctx, "h-a1", at, "x"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a1's code after the delete: %v", err)
	}
	if _, err := o.OAuthClientByID(ctx, "a1"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a1 after the delete: %v", err)
	}
	if _, _, err := o.DeleteOAuthClient(ctx, "a1", at); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deleting a1 twice: %v", err)
	}
}
