package catalogsvc

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/postgres"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

var pg pgtest.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pg.Main(m, "catalogsvc"))
}

// The catalog is written through the store the service reads, and through
// a second handle on the same database (another replica).
func TestPrunedRelationsFollowTargetsSQLite(t *testing.T) {
	var path string
	open := func() store.Store {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	t.Run("same handle", func(t *testing.T) {
		path = filepath.Join(t.TempDir(), "r.db")
		st := open()
		testPrunedRelationsFollowTargets(t, st, st)
	})
	t.Run("another replica", func(t *testing.T) {
		path = filepath.Join(t.TempDir(), "r.db")
		testPrunedRelationsFollowTargets(t, open(), open())
	})
}

func TestPrunedRelationsFollowTargetsPostgres(t *testing.T) {
	var dsn string
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), dsn, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	t.Run("same handle", func(t *testing.T) {
		dsn = pg.DB(t, "catalogsvc")
		st := open()
		testPrunedRelationsFollowTargets(t, st, st)
	})
	t.Run("another replica", func(t *testing.T) {
		dsn = pg.DB(t, "catalogsvc")
		testPrunedRelationsFollowTargets(t, open(), open())
	})
}

// countedStore counts the relation-target checks a service asks its
// store for (HiddenRefs), to tell them from decisions of its cached sets.
type countedStore struct {
	store.Store
	hiddenRefs atomic.Int64
}

func (c *countedStore) HiddenRefs(ctx context.Context, refs []string, access *store.Expr) (map[string]bool, error) {
	c.hiddenRefs.Add(1)
	return c.Store.HiddenRefs(ctx, refs, access)
}

// warmHidden reads svc-a as who until s holds, for who's access, the set
// of hidden entities at the catalog's current generation (read in the
// background after a page of a generation it does not hold).
func warmHidden(t *testing.T, s *Service, st store.Store, who auth.Identity) {
	t.Helper()
	ctx := context.Background()
	access, err := s.access(who)
	if err != nil {
		t.Fatal(err)
	}
	gen, _, _, err := st.HiddenSet(ctx, store.True(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, _, err := s.EntityByName(ctx, who, "Component", "default", "svc-a"); err != nil {
			t.Fatal(err)
		}
		s.hidden.mu.Lock()
		set := s.hidden.sets[access.Key()]
		held := set != nil && set.gen == gen && set.refs != nil
		s.hidden.mu.Unlock()
		if held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no set of hidden entities at generation %d after 10s", who.Ref, gen)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// served is what one read path serves of an entity: its relations'
// targets (sorted) and its etag.
type served struct {
	targets []string
	etag    string
}

// servedSvcA reads svc-a as who through every read of the service that
// serves relations — by name, by uid, by refs, a by-query page and a
// list — checks they all serve the same relations and etag, and returns
// that.
func servedSvcA(t *testing.T, s *Service, st store.Store, who auth.Identity) served {
	t.Helper()
	ctx := context.Background()
	const ref = "component:default/svc-a"
	stored, err := st.EntityByRef(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	of := func(e *store.StoredEntity) served {
		ts := targets(e)
		slices.Sort(ts)
		return served{ts, e.ETag}
	}
	got := map[string]served{}
	e, _, err := s.EntityByName(ctx, who, "Component", "default", "svc-a")
	if err != nil || e == nil {
		t.Fatalf("by name: %v %v", e, err)
	}
	got["by name"] = of(e)
	if e, err = s.EntityByUID(ctx, who, stored.UID); err != nil {
		t.Fatalf("by uid: %v", err)
	}
	got["by uid"] = of(e)
	// The ref twice: the service's reads may hand the pruning one entity
	// twice, and the second answer must be the first's.
	es, err := s.EntitiesByRefs(ctx, who, []string{"component:default/secret-b", ref, ref})
	if err != nil || es[1] == nil || es[2] == nil {
		t.Fatalf("by refs: %v %v", es, err)
	}
	got["by refs"] = of(es[1])
	got["by refs, the ref again"] = of(es[2])
	page, err := s.Query(ctx, who, store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{"team-a"}}}}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Query(ctx, who, store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}, Limit: 100, Order: []store.Order{{Field: "metadata.name", Desc: true}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]store.Page{"by query": page, "list": list} {
		for _, e := range p.Entities {
			if e.Ref == ref {
				got[name] = of(e)
			}
		}
	}
	want := got["by name"]
	for _, name := range []string{"by uid", "by refs", "by refs, the ref again", "by query", "list"} {
		if g, ok := got[name]; !ok || fmt.Sprint(g) != fmt.Sprint(want) {
			t.Fatalf("%s: %s serves svc-a %v, by name %v", who.Ref, name, g, want)
		}
	}
	return want
}

// testPrunedRelationsFollowTargets: every read drops a relation whose
// target the caller may not read — alice (team-a) does not see svc-a's
// dependency on team-b's sensitive secret-b, bob (team-b) does — and the
// etag follows. Once the service holds what each caller's policy hides,
// a by-name read and a page decide from it without asking the store
// about each target. When the catalog changes which targets are hidden
// (team-a's group turns sensitive, secret-b stops being), written through
// writer (another replica on the same database), the very next read
// follows it: a held set decides only pages of its own write generation.
// Without a policy everything is served.
func testPrunedRelationsFollowTargets(t *testing.T, st, writer store.Store) {
	ctx := context.Background()
	raw, err := os.ReadFile(testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(f, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	written, _, refresh := testServiceOn(t, writer, f, true)
	counted := &countedStore{Store: st}
	s := New(Deps{Logger: written.d.Logger, Store: counted, Policy: written.d.Policy})
	open := New(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st})
	const group, secret = "group:default/team-a", "component:default/secret-b"
	all := []string{secret, group}

	check := func(phase string, who auth.Identity, svc *Service, want []string) served {
		t.Helper()
		got := servedSvcA(t, svc, st, who)
		if !slices.Equal(got.targets, want) {
			t.Fatalf("%s: %s is served svc-a's relations to %v, want %v", phase, who.Ref, got.targets, want)
		}
		stored, err := st.EntityByRef(ctx, "component:default/svc-a")
		if err != nil {
			t.Fatal(err)
		}
		if got.etag != store.ServedETag(stored.Hash, withTargets(stored.Relations, want)) {
			t.Fatalf("%s: %s is served etag %s, not that of its relations", phase, who.Ref, got.etag)
		}
		if (len(want) == len(all)) != (got.etag == stored.ETag) {
			t.Fatalf("%s: %s is served etag %s, stored %s, with %d of %d relations", phase, who.Ref, got.etag, stored.ETag, len(want), len(all))
		}
		return got
	}
	// held: with the hidden sets held, a by-name read and a page of svc-a
	// serve want to who, deciding without HiddenRefs.
	held := func(phase string, who auth.Identity, want []string) {
		t.Helper()
		warmHidden(t, s, st, who)
		before := counted.hiddenRefs.Load()
		e, _, err := s.EntityByName(ctx, who, "Component", "default", "svc-a")
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.Query(ctx, who, store.Query{Filter: store.Filter{{{Key: "metadata.name", Values: []string{"svc-a"}}}}, Limit: 10})
		if err != nil || len(page.Entities) != 1 {
			t.Fatalf("%s: page: %v %v", phase, page.Entities, err)
		}
		if n := counted.hiddenRefs.Load() - before; n != 0 {
			t.Fatalf("%s: %s: %d relation-target queries with the hidden set held", phase, who.Ref, n)
		}
		for path, e := range map[string]*store.StoredEntity{"by name": e, "page": page.Entities[0]} {
			if ts := targets(e); !slices.Equal(slices.Sorted(slices.Values(ts)), want) {
				t.Fatalf("%s: %s %s with the hidden set held: svc-a's relations to %v, want %v", phase, who.Ref, path, ts, want)
			}
		}
		check(phase, who, s, want)
	}
	aliceBefore := check("before", alice, s, []string{group})
	check("before", bob, s, all)
	check("before", alice, open, all)
	held("before, held", alice, []string{group})
	held("before, held", bob, all)

	// team-a's group turns sensitive (it has no owner: no one here may
	// read it), secret-b stops being sensitive.
	changed := strings.Replace(string(raw), "metadata: {name: team-a}", "metadata: {name: team-a, annotations: {rigger.dev/sensitive: \"true\"}}", 1)
	changed = strings.Replace(changed, "annotations: {rigger.dev/sensitive: \"true\", backstage.io/techdocs-ref: \"dir:.\"}", "annotations: {backstage.io/techdocs-ref: \"dir:.\"}", 1)
	if changed == string(raw) || strings.Count(changed, "sensitive") != strings.Count(string(raw), "sensitive") {
		t.Fatal("the test catalog changed: the edit did not apply")
	}
	if err := os.WriteFile(f, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	refresh()
	aliceAfter := check("after", alice, s, []string{secret})
	check("after", bob, s, []string{secret})
	check("after", bob, open, all)
	if aliceAfter.etag == aliceBefore.etag {
		t.Fatalf("alice's etag of svc-a did not change with its served relations: %s", aliceAfter.etag)
	}
	held("after, held", alice, []string{secret})
	held("after, held", bob, []string{secret})
}

// withTargets is rels limited to those whose target is in targets.
func withTargets(rels []store.Relation, targets []string) []store.Relation {
	var out []store.Relation
	for _, r := range rels {
		if slices.Contains(targets, r.Target) {
			out = append(out, r)
		}
	}
	return out
}
