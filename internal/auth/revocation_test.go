package auth

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/postgres"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// revocationStore is what the revocation tests need of a database.
type revocationStore interface {
	KeyStore
	SessionStore
	RevocationStore
}

func TestAccessTokenRevocationSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	// Two replicas: two connections to one database file.
	testAccessTokenRevocation(t, testDB(t, path), testDB(t, path))
}

func TestAccessTokenRevocationPostgres(t *testing.T) {
	dsn := pg.DB(t, "auth")
	testAccessTokenRevocation(t, openPostgres(t, dsn), openPostgres(t, dsn))
}

// openPostgres is a replica's store on the PostgreSQL database dsn.
func openPostgres(t *testing.T, dsn string) revocationStore {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testAccessTokenRevocation runs two replicas (a, b) on one database: a
// token revoked on a is refused by a at the next request and by b within
// the revocation window; tokens not revoked keep working; rows expire.
func testAccessTokenRevocation(t *testing.T, stA, stB revocationStore) {
	ctx := context.Background()
	c := newClock()
	const window = 2 * time.Second
	newIssuer := func(st revocationStore) *Issuer {
		i, err := NewIssuer(ctx, IssuerOptions{Store: st, DataKey: testDataKey, URL: testIssuerURL, Now: c.Now, RevocationWindow: window})
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	a, b := newIssuer(stA), newIssuer(stB)
	sessions, err := NewSessions(stA, 12*time.Hour, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	sessions.Issuer = a
	bob := Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob"}}

	// signIn starts a session for id and returns an access token
	// refreshed from it, as POST /api/auth/refresh does.
	signIn := func(id Identity) (access, refresh string) {
		t.Helper()
		first, _, err := sessions.Create(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, next, _, err := sessions.Refresh(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if got.Session == "" {
			t.Fatal("a refreshed identity names no session")
		}
		access, _, err = a.Issue(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		return access, next
	}
	accepted := func(who string, i *Issuer, tok string) {
		t.Helper()
		if _, err := i.Verify(ctx, tok); err != nil {
			t.Fatalf("%s refuses a token that was not revoked: %v", who, err)
		}
	}
	refused := func(who string, i *Issuer, tok string) {
		t.Helper()
		_, err := i.Verify(ctx, tok)
		if !errors.Is(err, errs.ErrUnauthenticated) {
			t.Fatalf("%s accepts a revoked token (err %v)", who, err)
		}
	}

	t.Run("logout", func(t *testing.T) {
		tok, refresh := signIn(alice)
		other, _ := signIn(bob)
		accepted("replica a", a, tok)
		accepted("replica b", b, tok) // b's copy is now fresh
		if err := sessions.Revoke(ctx, refresh); err != nil {
			t.Fatal(err)
		}
		refused("replica a (which revoked)", a, tok)
		// b may accept it for at most the window, then refuses it.
		c.Add(window)
		refused("replica b after the window", b, tok)
		accepted("replica a", a, other)
		accepted("replica b", b, other)
	})

	t.Run("refresh token reuse", func(t *testing.T) {
		first, _, err := sessions.Create(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		id, _, _, err := sessions.Refresh(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := a.Issue(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		accepted("replica a", a, tok)
		if _, _, _, err := sessions.Refresh(ctx, first); err == nil {
			t.Fatal("a reused refresh token was accepted")
		}
		refused("replica a after reuse", a, tok)
		c.Add(window)
		refused("replica b after reuse", b, tok)
	})

	t.Run("one token (break-glass)", func(t *testing.T) {
		bg := Identity{Ref: "user:default/break-glass", Ent: []string{"user:default/break-glass"}, Scopes: []string{"admin"}, Via: ViaBreakGlass}
		tok, _, err := a.IssueTTL(ctx, bg, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		keep, _, err := a.IssueTTL(ctx, bg, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		id, err := b.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.RevokeToken(ctx, id.TokenID); err != nil {
			t.Fatal(err)
		}
		refused("replica b (which revoked)", b, tok)
		c.Add(window)
		refused("replica a after the window", a, tok)
		accepted("replica a", a, keep)
	})

	t.Run("every session of a user", func(t *testing.T) {
		tok1, refresh := signIn(alice)
		tok2, _ := signIn(alice)
		other, _ := signIn(bob)
		n, err := b.RevokeUser(ctx, alice.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			t.Fatalf("%d sessions revoked, want at least alice's 2", n)
		}
		// Each of her sign-in families is revoked by id too: a refresh
		// racing the revocation (a new session in the family) and replicas'
		// clocks cannot get past it (review 31b).
		rows, err := stA.RevocationsSince(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		families := 0
		for _, r := range rows {
			if r.Kind == store.RevokeSession {
				families++
			}
		}
		if families < 2 {
			t.Fatalf("%d session-family revocations after revoking alice, want her 2: %+v", families, rows)
		}
		refused("replica b (which revoked)", b, tok1)
		c.Add(window)
		refused("replica a after the window", a, tok2)
		if _, _, _, err := sessions.Refresh(ctx, refresh); err == nil {
			t.Fatal("a revoked user's refresh token still refreshes")
		}
		accepted("replica a", a, other)
		// She may sign in again: tokens issued after the revocation work.
		c.Add(time.Second)
		again, _ := signIn(alice)
		accepted("replica a", a, again)
		accepted("replica b", b, again)
	})

	t.Run("rows expire", func(t *testing.T) {
		if rows, err := stA.RevocationsSince(ctx, time.Time{}, time.Time{}); err != nil || len(rows) == 0 {
			t.Fatalf("no revocation rows stored (%v)", err)
		}
		// Past every revoked token's expiry, the next revocation deletes
		// the old rows, and readers no longer list them.
		c.Add(store.RevocationKeep + time.Minute)
		if rows, err := stB.RevocationsSince(ctx, time.Time{}, c.Now()); err != nil || len(rows) != 0 {
			t.Fatalf("expired revocations still listed: %v (%v)", rows, err)
		}
		if _, err := a.RevokeUser(ctx, "user:default/carol"); err != nil {
			t.Fatal(err)
		}
		rows, err := stA.RevocationsSince(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].ID != "user:default/carol" {
			t.Fatalf("rows after cleanup: %+v, want carol's only", rows)
		}
	})
}

// slowFailingStore is a real store whose revocation reads can be made to
// fail the way a database that is down does: after a wait (a connection
// timeout). It counts the reads that reached it.
type slowFailingStore struct {
	RevocationStore
	mu    sync.Mutex
	down  bool
	reads int
}

func (s *slowFailingStore) RevocationsSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error) {
	s.mu.Lock()
	s.reads++
	down := s.down
	s.mu.Unlock()
	if down {
		time.Sleep(100 * time.Millisecond)
		return nil, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return s.RevocationStore.RevocationsSince(ctx, since, now)
}

func (s *slowFailingStore) set(down bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	n := s.reads
	s.reads = 0
	return n
}

// TestRevocationReadsDoNotPileUp: while the database is down, every
// verification that needs a fresh copy is refused (fail closed), but the
// requests arriving together cost one read, not one each, and for a
// second after a failure none reads at all; once the database is back
// verifications pass again.
func TestRevocationReadsDoNotPileUp(t *testing.T) {
	c := newClock()
	st := &slowFailingStore{RevocationStore: testDB(t, filepath.Join(t.TempDir(), "r.db"))}
	r := &revocations{st: st, window: 2 * time.Second, now: c.Now, logger: slog.New(slog.DiscardHandler)}
	tok := tokenRef{sub: "user:default/alice", jti: "j1", iat: c.Now()}
	if err := r.check(t.Context(), tok); err != nil {
		t.Fatalf("database up: %v", err)
	}
	st.set(true)
	c.Add(3 * time.Second) // the copy is stale
	var wg sync.WaitGroup
	var refused atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.check(t.Context(), tok); errors.Is(err, errs.ErrUnavailable) {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 20 {
		t.Fatalf("%d of 20 verifications refused while the database is down, want all (fail closed)", refused.Load())
	}
	if err := r.check(t.Context(), tok); !errors.Is(err, errs.ErrUnavailable) {
		t.Fatalf("right after a failed read: %v, want unavailable", err)
	}
	if n := st.set(true); n != 1 {
		t.Fatalf("20 concurrent verifications and one more made %d reads of a database that is down, want 1", n)
	}
	c.Add(revocationRetry)
	if err := r.check(t.Context(), tok); !errors.Is(err, errs.ErrUnavailable) {
		t.Fatalf("a second later, still down: %v, want unavailable", err)
	}
	if n := st.set(false); n != 1 {
		t.Fatalf("a second later: %d reads, want 1 (a new try)", n)
	}
	c.Add(revocationRetry)
	if err := r.check(t.Context(), tok); err != nil {
		t.Fatalf("database back: %v", err)
	}
}

// TestRevocationReadIgnoresCallerCancel: the read of new revocations
// serves every caller, so a caller that gives up (its connection dropped,
// its context cancelled) neither fails the read nor makes the next
// callers' checks fail: one user dropping requests cannot turn every
// other user's tokens away.
func TestRevocationReadIgnoresCallerCancel(t *testing.T) {
	c := newClock()
	r := &revocations{st: testDB(t, filepath.Join(t.TempDir(), "r.db")), window: 2 * time.Second, now: c.Now, logger: slog.New(slog.DiscardHandler)}
	mallory := tokenRef{sub: "user:default/mallory", jti: "m1", iat: c.Now()}
	alice := tokenRef{sub: "user:default/alice", jti: "a1", iat: c.Now()}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.check(gone, mallory); err != nil {
		t.Fatalf("a caller that gave up, on a healthy database: %v", err)
	}
	if err := r.check(t.Context(), alice); err != nil {
		t.Fatalf("the next caller after one that gave up: %v, want accepted", err)
	}
}

func TestRevokeUserSkewedClockSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	testRevokeUserSkewedClock(t, func() revocationStore { return testDB(t, path) })
}

func TestRevokeUserSkewedClockPostgres(t *testing.T) {
	dsn := pg.DB(t, "auth")
	testRevokeUserSkewedClock(t, func() revocationStore { return openPostgres(t, dsn) })
}

// testRevokeUserSkewedClock: revoking every token of a user from a
// replica whose clock is off (review 16 H2(b)) still ends the
// tokens issued before it by a replica with the right time (a clock
// behind), and does not end those issued after it (a clock ahead).
// Tokens issued directly to a user carry no sign-in (sid) here, so only
// the user revocation can end them.
func testRevokeUserSkewedClock(t *testing.T, open func() revocationStore) {
	ctx := context.Background()
	c := newClock()
	const window = 2 * time.Second
	issuer := func(st revocationStore, now func() time.Time) *Issuer {
		i, err := NewIssuer(ctx, IssuerOptions{Store: st, DataKey: testDataKey, URL: testIssuerURL, Now: now, RevocationWindow: window})
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	right := issuer(open(), c.Now)
	for _, tc := range []struct {
		name string
		skew time.Duration
	}{
		// Within the skew verification tolerates (clockSkew), so that the
		// revoking replica verifies the other's tokens at all.
		{"revoker behind", -25 * time.Second}, {"revoker ahead", 25 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skewed := issuer(open(), func() time.Time { return c.Now().Add(tc.skew) })
			user := Identity{Ref: "user:default/skew-" + strings.ReplaceAll(tc.name, " ", "-")}
			before, _, err := right.Issue(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			c.Add(time.Second)
			if _, err := skewed.RevokeUser(ctx, user.Ref); err != nil {
				t.Fatal(err)
			}
			c.Add(time.Second)
			after, _, err := right.Issue(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			c.Add(window)
			for who, i := range map[string]*Issuer{"the revoking replica": skewed, "a replica with the right time": right} {
				if _, err := i.Verify(ctx, before); !errors.Is(err, errs.ErrUnauthenticated) {
					t.Errorf("%s accepts a token issued before the revocation (err %v)", who, err)
				}
				if _, err := i.Verify(ctx, after); err != nil {
					t.Errorf("%s refuses a token issued after the revocation: %v", who, err)
				}
			}
			// A revocation after another one ends the tokens issued
			// between them everywhere, even when its replica's clock
			// reads earlier than the other's did.
			c.Add(time.Second)
			if _, err := right.RevokeUser(ctx, user.Ref); err != nil {
				t.Fatal(err)
			}
			c.Add(time.Second)
			between, _, err := right.Issue(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			c.Add(time.Second)
			if _, err := skewed.RevokeUser(ctx, user.Ref); err != nil {
				t.Fatal(err)
			}
			c.Add(window)
			for who, i := range map[string]*Issuer{"the skewed replica": skewed, "a replica with the right time": right} {
				if _, err := i.Verify(ctx, between); !errors.Is(err, errs.ErrUnauthenticated) {
					t.Errorf("%s accepts a token issued before the last revocation (err %v)", who, err)
				}
			}
		})
	}
}

func TestOldReleaseRevocationSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	db, err := sqlite.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	testOldReleaseRevocation(t, testDB(t, path), db, "?, ?, ?, ?")
}

func TestOldReleaseRevocationPostgres(t *testing.T) {
	dsn := pg.DB(t, "auth")
	st := openPostgres(t, dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	testOldReleaseRevocation(t, st, db, "$1, $2, $3, $4")
}

// testOldReleaseRevocation: during a rolling upgrade (review 34 M1) a
// replica of the release before generations revokes a user whose row a
// new replica wrote with a generation. Its upsert (below, as that release
// ran it) moves revoked_at forward and leaves the generation alone; the
// tokens a new replica issued between the two revocations carry the
// row's generation and must still be refused, and those issued after the
// old release's revocation accepted.
func testOldReleaseRevocation(t *testing.T, st revocationStore, db *sql.DB, params string) {
	ctx := context.Background()
	c := newClock()
	i, err := NewIssuer(ctx, IssuerOptions{Store: st, DataKey: testDataKey, URL: testIssuerURL, Now: c.Now, RevocationWindow: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	user := Identity{Ref: "user:default/alice"}
	if _, err := i.RevokeUser(ctx, user.Ref); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	between, _, err := i.Issue(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	at := c.Now().UTC()
	if _, err := db.ExecContext(ctx, `INSERT INTO auth_revocations (kind, id, revoked_at, expires_at) VALUES (`+params+`)
ON CONFLICT (kind, id) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at
WHERE excluded.revoked_at > auth_revocations.revoked_at`, "sub", user.Ref, store.AuditTime(at), store.AuditTime(at.Add(store.RevocationKeep))); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	after, _, err := i.Issue(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	// A replica that read the row before the old release's update, and
	// one that reads it fresh, both refuse.
	fresh, err := NewIssuer(ctx, IssuerOptions{Store: st, DataKey: testDataKey, URL: testIssuerURL, Now: c.Now, RevocationWindow: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for who, i := range map[string]*Issuer{"the replica that revoked first": i, "a fresh replica": fresh} {
		if _, err := i.Verify(ctx, between); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("%s accepts a token issued before the old release's revocation (err %v)", who, err)
		}
		if _, err := i.Verify(ctx, after); err != nil {
			t.Errorf("%s refuses a token issued after every revocation: %v", who, err)
		}
	}
	// A later revocation by a new replica still raises the generation and
	// keeps the old release's time.
	c.Add(2 * time.Second)
	if _, err := i.RevokeUser(ctx, user.Ref); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	if _, err := fresh.Verify(ctx, after); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("a token issued before a new replica's revocation is accepted (err %v)", err)
	}
	if _, err := fresh.Verify(ctx, between); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("a new replica's revocation made a token issued before the old release's one valid (err %v)", err)
	}
}
