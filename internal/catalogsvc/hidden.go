package catalogsvc

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// hiddenSets remembers, per access predicate, the stored entities it does
// not admit, as of one catalog write generation (store.HiddenSet): under
// common policies a few sensitive entities, or none. A page read at that
// same generation (StoredEntity.Gen, read in the page's own statement)
// drops its relations to them without asking the store about each
// target; a page of any other generation, or of a read that does not say,
// asks the store as before (HiddenRefs), and the set is read again in the
// background. Nothing is decided from a set of another generation, and a
// generation moves with every committed write of the entities table,
// whichever replica made it: the decision is the one a query in the
// page's own statement would take.
type hiddenSets struct {
	mu   sync.Mutex
	sets map[string]*hiddenSet
	// reading counts the background reads running (at most maxHiddenReads:
	// many callers' first pages after a write start no more store reads
	// than that at once; the others ask the store per page meanwhile).
	reading int
}

// hiddenSet is what one access predicate hides.
type hiddenSet struct {
	// gen is the generation refs were read at (0: not yet read).
	gen int64
	// refs are the hidden entities' keys; nil when there are more than
	// maxHidden (the store is then asked per page). Never changed once
	// set: readers share it.
	refs map[string]bool
	// list is refs sorted (for Query.Hidden).
	list []string
	// outdated: a page was read at a later generation than gen (a query
	// given the set ran again with the access predicate); known gives the
	// set to no query until it is read again.
	outdated bool
	// busy: a read of the set runs. next: when another may start (the
	// reads take at most about a tenth of the time while the catalog is
	// written to without pause).
	busy bool
	next time.Time
}

const (
	// maxHidden bounds a cached set: a policy that hides more (a team
	// reading only its own entities) is decided per page.
	maxHidden = 1024
	// maxHiddenSets bounds the predicates remembered (under the default
	// policy one per signed-in user: its ownership refs are in it), so
	// the sets hold at most ~13 MB of refs, usually next to nothing.
	maxHiddenSets = 256
	// hiddenReadTimeout bounds one background read of a set.
	hiddenReadTimeout = time.Minute
	// maxHiddenReads bounds the background reads running at once, for all
	// predicates together.
	maxHiddenReads = 2
)

// lookup returns the keys access hides at generation gen (0: unknown),
// when they are known; when they are not, it starts reading them for the
// next page.
func (h *hiddenSets) lookup(ctx context.Context, st Store, log *slog.Logger, access *store.Expr, gen int64) (map[string]bool, bool) {
	if gen == 0 {
		return nil, false
	}
	key := access.Key()
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.sets[key]
	if set != nil && set.gen == gen {
		// Known (refs nil: too many to keep, decided per page).
		return set.refs, set.refs != nil
	}
	if set == nil {
		if h.sets == nil {
			h.sets = map[string]*hiddenSet{}
		}
		if len(h.sets) >= maxHiddenSets {
			for k, s := range h.sets {
				if !s.busy {
					delete(h.sets, k)
					break
				}
			}
		}
		set = &hiddenSet{}
		h.sets[key] = set
	}
	if set.busy || h.reading >= maxHiddenReads || time.Now().Before(set.next) {
		return nil, false
	}
	set.busy = true
	h.reading++
	// The read outlives the request that started it.
	go h.read(context.WithoutCancel(ctx), st, log, set, access)
	return nil, false
}

// read reads the set access hides into set.
func (h *hiddenSets) read(ctx context.Context, st Store, log *slog.Logger, set *hiddenSet, access *store.Expr) {
	ctx, cancel := context.WithTimeout(ctx, hiddenReadTimeout)
	defer cancel()
	t0 := time.Now()
	gen, refs, whole, err := st.HiddenSet(ctx, access, maxHidden)
	took := time.Since(t0)
	h.mu.Lock()
	defer h.mu.Unlock()
	set.busy, set.next = false, time.Now().Add(10*took)
	h.reading--
	if err != nil {
		if log != nil {
			log.Warn("catalog: read the entities a policy hides (pages ask the store meanwhile)", "err", err)
		}
		return
	}
	if gen < set.gen {
		return
	}
	set.gen, set.refs, set.list, set.outdated = gen, nil, nil, false
	if whole {
		set.refs, set.list = refs, slices.Sorted(maps.Keys(refs))
	}
}

// known is the last set read of what access hides, whatever its
// generation, when it was whole: a query can leave those entities out
// instead of testing access on each match, and the store checks the
// generation (store.Query.Hidden).
func (h *hiddenSets) known(access *store.Expr) (*store.HiddenAt, bool) {
	key := access.Key()
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.sets[key]
	if set == nil || set.gen == 0 || set.refs == nil || set.outdated {
		return nil, false
	}
	return &store.HiddenAt{Gen: set.gen, Refs: set.list}, true
}

// outdated records that a page of access was read past generation gen:
// while the catalog is written to, a set read before the last write would
// have every page and count run twice (once given the set, once with the
// access predicate) until the set is read again.
func (h *hiddenSets) outdated(access *store.Expr, gen int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.sets[access.Key()]; set != nil && set.gen == gen {
		set.outdated = true
	}
}

// pageGen is the write generation every entity of es was read at (0 when
// they do not all say the same).
func pageGen(es []*store.StoredEntity) int64 {
	var gen int64
	for _, e := range es {
		if e == nil {
			continue
		}
		if e.Gen == 0 || (gen != 0 && e.Gen != gen) {
			return 0
		}
		gen = e.Gen
	}
	return gen
}
