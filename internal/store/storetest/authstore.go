package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// testAuthStore checks signing keys (rotation under a lock, expiry),
// sessions (rotation, reuse, family revocation) and service tokens
// (unique names, lookup by hash, list, revoke, last use) and OAuth
// clients (bounds, expiry, deletion).
func testAuthStore(t *testing.T, open Opener) {
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("ServiceTokens", func(t *testing.T) { testServiceTokenRecords(t, open(t)) })
	t.Run("OAuthClients", func(t *testing.T) { testOAuthClients(t, open(t)) })
	t.Run("UserRevocations", func(t *testing.T) { testUserRevocations(t, open(t)) })
}

// testUserRevocations: each revocation of a user raises its token
// generation by one and stores it on the user's row; a revocation whose
// time reads earlier than the stored one (a replica's clock behind)
// replaces it all the same, at a later time, so readers since the old
// time see it.
func testUserRevocations(t *testing.T, s store.Store) {
	ctx := context.Background()
	const user = "user:default/gen"
	if g, err := s.TokenGeneration(ctx, user); err != nil || g != 0 {
		t.Fatalf("generation before any revocation: %d %v, want 0", g, err)
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	for i, at := range []time.Time{t0, t0.Add(-time.Minute)} {
		if _, g, err := s.RevokeUserSessions(ctx, user, at); err != nil || g != int64(i+1) {
			t.Fatalf("revocation %d: generation %d %v, want %d", i+1, g, err, i+1)
		}
	}
	if g, err := s.TokenGeneration(ctx, user); err != nil || g != 2 {
		t.Fatalf("generation after two revocations: %d %v, want 2", g, err)
	}
	rows, err := s.RevocationsSince(ctx, t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	var got []store.Revocation
	for _, r := range rows {
		if r.Kind == store.RevokeUser && r.ID == user {
			got = append(got, r)
		}
	}
	if len(got) != 1 || got[0].Generation != 2 || !got[0].At.After(t0) {
		t.Fatalf("the user's revocation rows since the first: %+v, want one of generation 2 after %s", got, t0)
	}
}

func signingKey(kid string, created time.Time) store.SigningKey {
	return store.SigningKey{KID: kid, SealedPrivate: []byte("sealed-" + kid), PublicJWK: []byte(`{"kid":"` + kid + `"}`),
		Created: created, NotAfter: created.Add(24 * time.Hour), Expires: created.Add(25 * time.Hour)}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if added, err := s.AddSigningKey(ctx, signingKey("k1", t0), t0.Add(-24*time.Hour)); err != nil || !added {
		t.Fatalf("first key: added=%v err=%v", added, err)
	}
	// A replica that decided to rotate on the same stale view adds nothing.
	if added, err := s.AddSigningKey(ctx, signingKey("k1b", t0.Add(time.Second)), t0.Add(-24*time.Hour)); err != nil || added {
		t.Fatalf("second key created after the first under the same view: added=%v err=%v, want not added", added, err)
	}
	t1 := t0.Add(24 * time.Hour)
	if added, err := s.AddSigningKey(ctx, signingKey("k2", t1), t0); err != nil || !added {
		t.Fatalf("rotated key: added=%v err=%v", added, err)
	}
	keys, err := s.SigningKeys(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(keys); !slices.Equal(got, []string{"k2", "k1"}) {
		t.Fatalf("keys verifying at t1 = %v, want [k2 k1] newest first", got)
	}
	k := keys[1]
	if string(k.SealedPrivate) != "sealed-k1" || string(k.PublicJWK) != `{"kid":"k1"}` || !k.Created.Equal(t0) ||
		!k.NotAfter.Equal(t0.Add(24*time.Hour)) || !k.Expires.Equal(t0.Add(25*time.Hour)) {
		t.Fatalf("stored key read back as %+v", k)
	}
	// k1 stops verifying at t0+25h.
	if keys, _ := s.SigningKeys(ctx, t0.Add(25*time.Hour+time.Second)); !slices.Equal(kids(keys), []string{"k2"}) {
		t.Fatalf("after k1 expired: %v, want [k2]", kids(keys))
	}
	// Rotating later deletes the expired row itself.
	t2 := t1.Add(24 * time.Hour)
	if added, err := s.AddSigningKey(ctx, signingKey("k3", t2), t1); err != nil || !added {
		t.Fatalf("third key: added=%v err=%v", added, err)
	}
	if keys, _ := s.SigningKeys(ctx, t0); slices.Contains(kids(keys), "k1") {
		t.Fatalf("k1 expired before k3 was created and is still stored: %v", kids(keys))
	}

	// Replicas rotating at the same instant add exactly one key.
	t3 := t2.Add(24 * time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	addedN := 0
	start := make(chan struct{})
	for i := range 6 {
		wg.Go(func() {
			<-start
			added, err := s.AddSigningKey(ctx, signingKey(fmt.Sprintf("race-%d", i), t3), t2)
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
			if added {
				mu.Lock()
				addedN++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if addedN != 1 {
		t.Fatalf("%d replicas added a key rotating together, want 1", addedN)
	}
	if _, err := s.AddSigningKey(ctx, store.SigningKey{KID: "x"}, t0); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("key without material: %v, want invalid", err)
	}
}

func kids(keys []store.SigningKey) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, k.KID)
	}
	return out
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	first := store.Session{ID: "s1", Family: "f1", Hash: "h1", UserRef: "user:default/alice",
		Ent: []string{"user:default/alice", "group:default/team-a"}, Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, first); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "s1" || got.Family != "f1" || got.UserRef != first.UserRef || !slices.Equal(got.Ent, first.Ent) ||
		!got.Created.Equal(now) || !got.Expires.Equal(first.Expires) || !got.Revoked.IsZero() {
		t.Fatalf("session read back as %+v", got)
	}
	if _, err := s.SessionByHash(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unknown hash: %v, want not found", err)
	}
	next := first
	next.ID, next.Hash, next.Created = "s2", "h2", now.Add(time.Minute)
	if err := s.RotateSession(ctx, "h1", next); err != nil {
		t.Fatal(err)
	}
	if old, _ := s.SessionByHash(ctx, "h1"); !old.Revoked.Equal(next.Created) {
		t.Fatalf("rotated-out session revoked at %v, want %v", old.Revoked, next.Created)
	}
	again := first
	again.ID, again.Hash = "s3", "h3"
	if err := s.RotateSession(ctx, "h1", again); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("rotating a revoked session: %v, want conflict", err)
	}
	if _, err := s.SessionByHash(ctx, "h3"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the refused rotation stored its new session: %v", err)
	}
	other := store.Session{ID: "o1", Family: "f2", Hash: "o1", UserRef: "user:default/bob", Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSessionFamily(ctx, "f1", now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s2, _ := s.SessionByHash(ctx, "h2"); s2.Revoked.IsZero() {
		t.Fatal("revoking the family left its live session valid")
	}
	if o, _ := s.SessionByHash(ctx, "o1"); !o.Revoked.IsZero() {
		t.Fatal("revoking one family revoked another's session")
	}
}

func testServiceTokenRecords(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	tok := store.ServiceTokenRecord{ID: "id-1", Name: "ci", Hash: "hash-1", Scopes: []string{"catalog.read"},
		Templates: []string{"template:default/app"}, Actions: []string{"fetch:template"}, Expires: now.Add(time.Hour),
		CreatedBy: "user:default/admin", Created: now}
	if err := s.CreateServiceToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	dup := tok
	dup.ID, dup.Hash = "id-2", "hash-2"
	if err := s.CreateServiceToken(ctx, dup); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("second token named ci: %v, want conflict", err)
	}
	forever := store.ServiceTokenRecord{ID: "id-3", Name: "backup", Hash: "hash-3", Scopes: []string{"*"}, CreatedBy: "user:default/admin", Created: now}
	if err := s.CreateServiceToken(ctx, forever); err != nil {
		t.Fatal(err)
	}
	got, err := s.ServiceTokenByHash(ctx, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "id-1" || got.Name != "ci" || !slices.Equal(got.Scopes, tok.Scopes) || !slices.Equal(got.Templates, tok.Templates) ||
		!slices.Equal(got.Actions, tok.Actions) || !got.Expires.Equal(tok.Expires) || got.CreatedBy != tok.CreatedBy ||
		!got.Created.Equal(now) || !got.LastUsed.IsZero() || !got.Revoked.IsZero() {
		t.Fatalf("token read back as %+v", got)
	}
	if _, err := s.ServiceTokenByHash(ctx, "hash-2"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unknown hash: %v, want not found", err)
	}
	if err := s.TouchServiceToken(ctx, "id-1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ServiceTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "backup" || list[1].Name != "ci" || !list[1].LastUsed.Equal(now.Add(time.Minute)) || !list[0].Expires.IsZero() {
		t.Fatalf("list = %+v", list)
	}
	r, err := s.RevokeServiceToken(ctx, "ci", now.Add(2*time.Minute))
	if err != nil || r.ID != "id-1" || !r.Revoked.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("revoke by name: %+v %v", r, err)
	}
	if got, _ := s.ServiceTokenByHash(ctx, "hash-1"); got.Revoked.IsZero() {
		t.Fatal("revoked token reads as valid")
	}
	if r, err := s.RevokeServiceToken(ctx, "id-3", now); err != nil || r.Name != "backup" {
		t.Fatalf("revoke by id: %+v %v", r, err)
	}
	if _, err := s.RevokeServiceToken(ctx, "nope", now); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("revoking an unknown token: %v, want not found", err)
	}
}
