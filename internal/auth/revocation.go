package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// DefaultRevocationWindow is how stale an Issuer's copy of the revoked
// tokens may be before a verification reads new revocations from the
// database: a token revoked on another replica is refused everywhere at
// most this long after (on the replica that revoked it, at once).
const DefaultRevocationWindow = 2 * time.Second

// revocationOverlap is how far back each read looks before the newest
// revocation already seen (never later than this replica's clock): rows
// written by a replica whose clock lags behind by less, or committed
// late, are still found.
const revocationOverlap = 10 * time.Minute

// revocationRetry is how long after a failed read verifications needing
// a fresh copy are refused without asking the database again: while it is
// down, requests fail fast instead of queueing behind reads that each wait
// for a connection.
const revocationRetry = time.Second

// revocationReadTimeout bounds one read of the revocation table.
const revocationReadTimeout = 5 * time.Second

// errRevocationsUnavailable refuses a token whose revocations could not be
// read (fail closed).
var errRevocationsUnavailable = fmt.Errorf("%w: token revocations unavailable", errs.ErrUnavailable)

// RevocationStore keeps access-token revocations for every replica.
type RevocationStore interface {
	RevokeAccess(ctx context.Context, r store.Revocation) error
	RevocationsSince(ctx context.Context, since, now time.Time) ([]store.Revocation, error)
	RevokeUserSessions(ctx context.Context, user string, at time.Time) (int, int64, error)
	TokenGeneration(ctx context.Context, user string) (int64, error)
}

type revKey struct{ kind, id string }

// revocations is an Issuer's copy of the revocation table: read by a
// since-cursor when older than window, so a verification costs a map
// lookup and, once per window per replica, one indexed query.
type revocations struct {
	st     RevocationStore
	window time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu     sync.RWMutex
	set    map[revKey]store.Revocation
	fresh  time.Time // when the last successful read started (local clock)
	cursor time.Time // the newest revocation time read (revoker's clock)
	failed time.Time // when the last read failed, zero after a success (local clock)

	readMu sync.Mutex // one read at a time
}

// tokenRef is what a revocation can name in a verified token.
type tokenRef struct {
	sub, sid, jti string
	iat           time.Time
	// gen is the user's token generation the token was issued at; nil
	// for a token without one (issued before generations were kept).
	gen *int64
}

// check refuses a revoked token; it reads new revocations first when its
// copy is older than the window. A database it cannot read refuses too:
// a revocation must not be skipped because the store is down.
func (r *revocations) check(ctx context.Context, t tokenRef) error {
	now := r.now()
	r.mu.RLock()
	stale := now.Sub(r.fresh) >= r.window
	revoked := r.revokedLocked(t)
	failing := r.failingLocked(now)
	r.mu.RUnlock()
	if revoked || !stale {
		return r.refusal(revoked)
	}
	if failing {
		return errRevocationsUnavailable
	}
	if err := r.read(ctx); err != nil {
		if !errors.Is(err, errRevocationsUnavailable) {
			r.logger.Warn("read token revocations", "error", err)
		}
		return errRevocationsUnavailable
	}
	r.mu.RLock()
	revoked = r.revokedLocked(t)
	r.mu.RUnlock()
	return r.refusal(revoked)
}

// failingLocked: a read failed less than revocationRetry ago.
func (r *revocations) failingLocked(now time.Time) bool {
	return !r.failed.IsZero() && now.Sub(r.failed) < revocationRetry
}

func (r *revocations) refusal(revoked bool) error {
	if revoked {
		return errs.Unauthenticated("access token refused: it was revoked (logout, a reused refresh token, or an admin): sign in again")
	}
	return nil
}

func (r *revocations) revokedLocked(t tokenRef) bool {
	if _, ok := r.set[revKey{store.RevokeToken, t.jti}]; ok && t.jti != "" {
		return true
	}
	if _, ok := r.set[revKey{store.RevokeSession, t.sid}]; ok && t.sid != "" {
		return true
	}
	u, ok := r.set[revKey{store.RevokeUser, t.sub}]
	if !ok {
		return false
	}
	// A revocation that raised no generation (a row without one, or one
	// by the release before generations during a rolling upgrade) ends
	// the tokens issued at or before it, whatever their generation.
	if !u.Clock.IsZero() && !t.iat.After(u.Clock) {
		return true
	}
	if t.gen != nil && u.Generation > 0 {
		// Generations, not clocks: a replica whose clock is off can
		// neither spare a token issued before the revocation nor end
		// one issued after it.
		return *t.gen < u.Generation
	}
	// iat has whole seconds: a token issued in the second of the
	// revocation counts as issued before it.
	return !t.iat.After(u.At)
}

// read adds the revocations made since the cursor (less the overlap)
// and drops expired ones; concurrent callers wait for one read.
func (r *revocations) read(ctx context.Context) error {
	r.readMu.Lock()
	defer r.readMu.Unlock()
	start := r.now()
	r.mu.RLock()
	done := start.Sub(r.fresh) < r.window
	failing := r.failingLocked(start)
	since := r.cursor
	r.mu.RUnlock()
	if done { // another caller read while this one waited
		return nil
	}
	if failing { // another caller's read failed while this one waited
		return errRevocationsUnavailable
	}
	if !since.IsZero() {
		// A row from a replica whose clock runs ahead must not move the
		// cursor past rows written since by replicas with the right time.
		if since.After(start) {
			since = start
		}
		since = since.Add(-revocationOverlap)
	}
	// The read serves every caller waiting on it: one caller giving up
	// (a dropped connection) must not fail it for the others.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revocationReadTimeout)
	rows, err := r.st.RevocationsSince(rctx, since, start)
	cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed = r.now()
		return err
	}
	r.failed = time.Time{}
	for k, v := range r.set {
		if !start.Before(v.Expires) {
			delete(r.set, k)
		}
	}
	for _, v := range rows {
		r.addLocked(v)
	}
	r.fresh = start
	return nil
}

func (r *revocations) addLocked(v store.Revocation) {
	if r.set == nil {
		r.set = map[revKey]store.Revocation{}
	}
	k := revKey{v.Kind, v.ID}
	if old, ok := r.set[k]; ok {
		// The later revocation, the highest generation and the latest
		// revocation without one count, each apart.
		if !v.At.After(old.At) {
			v.At, v.Expires = old.At, old.Expires
		}
		v.Generation = max(v.Generation, old.Generation)
		if old.Clock.After(v.Clock) {
			v.Clock = old.Clock
		}
	}
	r.set[k] = v
	if v.At.After(r.cursor) {
		r.cursor = v.At
	}
}

// stale makes the next verification read the table: a revocation this
// replica stored by other means (a session family) counts at once.
func (r *revocations) stale() {
	r.mu.Lock()
	r.fresh = time.Time{}
	r.mu.Unlock()
}

// RevokeToken ends the access token with this jti (its TokenID), e.g. a
// break-glass token, on every replica within the revocation window and
// on this one at once.
func (i *Issuer) RevokeToken(ctx context.Context, jti string) error {
	if i.rev == nil {
		return errNoRevocations
	}
	if jti == "" {
		return errs.Invalid("revoke token: no token id")
	}
	now := i.o.Now().UTC()
	v := store.Revocation{Kind: store.RevokeToken, ID: jti, At: now, Expires: now.Add(store.RevocationKeep)}
	if err := i.rev.st.RevokeAccess(ctx, v); err != nil {
		return err
	}
	i.rev.mu.Lock()
	i.rev.addLocked(v)
	i.rev.mu.Unlock()
	return nil
}

// RevokeUser ends every session of user and every access token issued to
// it until now, and says how many sessions were valid. The user may sign
// in again.
func (i *Issuer) RevokeUser(ctx context.Context, user string) (int, error) {
	if i.rev == nil {
		return 0, errNoRevocations
	}
	now := i.o.Now().UTC()
	n, gen, err := i.rev.st.RevokeUserSessions(ctx, user, now)
	if err != nil {
		return 0, err
	}
	i.rev.mu.Lock()
	i.rev.addLocked(store.Revocation{Kind: store.RevokeUser, ID: user, At: now, Expires: now.Add(store.RevocationKeep), Generation: gen})
	i.rev.mu.Unlock()
	return n, nil
}

// SessionRevoked tells the issuer a session family was revoked in the
// store (logout, reuse): its tokens stop on this replica at the next
// request.
func (i *Issuer) SessionRevoked() {
	if i.rev != nil {
		i.rev.stale()
	}
}

var errNoRevocations = fmt.Errorf("%w: this token issuer's store keeps no revocations", errs.ErrUnavailable)
