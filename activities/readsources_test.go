package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// serverStore is a store that does not say it writes in this process, as
// a database server's would not.
type serverStore struct{ store.Store }

func TestParseWorkersLeaveAServerACPU(t *testing.T) {
	for _, c := range []struct {
		procs     int
		inProcess bool
		want      int
	}{{1, true, 1}, {2, true, 2}, {8, true, 8}, {1, false, 1}, {2, false, 1}, {8, false, 7}} {
		if got := parseWorkers(c.procs, c.inProcess); got != c.want {
			t.Errorf("parseWorkers(%d, %v) = %d, want %d", c.procs, c.inProcess, got, c.want)
		}
	}
	_, st := newCatalog(t)
	if !writesInProcess(st) {
		t.Error("the SQLite store does not say it writes in this process")
	}
	if writesInProcess(serverStore{st}) {
		t.Error("a store that does not say so is taken to write in this process")
	}
}

// TestReadSourcesHandsSourcesInOrder: however many goroutines parse, and
// whether or not the caller parses too (a server store on more than one
// CPU), each source reaches each once and in source order, though files
// of different sizes finish out of order; and each returning false stops
// the reading (readSources returns once its goroutines are done).
func TestReadSourcesHandsSourcesInOrder(t *testing.T) {
	c, st := newCatalog(t)
	dir := t.TempDir()
	var sources []source
	var sizes []int
	for i := range 48 {
		n := 1 + (i*7)%13*15 // 1 to 181 entities, in no order
		var b strings.Builder
		for j := range n {
			fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: c-%02d-%d}\nspec: {type: service, lifecycle: production, owner: team-a}\n", i, j)
		}
		path := filepath.Join(dir, fmt.Sprintf("f-%02d.yaml", i))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		sources = append(sources, source{typ: "file", target: path})
		sizes = append(sizes, n)
	}
	loc := store.Location{ID: "l", Type: "file", Target: filepath.Join(dir, "*.yaml")}
	src := catalog.Source{Type: loc.Type, Target: loc.Target}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, s := range []store.Store{st, serverStore{st}} {
		c.Store = s
		for _, procs := range []int{1, 2, 4} {
			runtime.GOMAXPROCS(procs)
			name := fmt.Sprintf("in process %v on %d CPUs", writesInProcess(s), procs)
			var got []int
			byCaller := 0
			c.readSources(context.Background(), &reading{access: c.access()}, loc, src, sources, func(sf sourceFiles) bool {
				i := len(got)
				got = append(got, i)
				if sf.byCaller {
					byCaller++
				}
				switch {
				case sf.err != nil:
					t.Errorf("%s: source %d: %v", name, i, sf.err)
				case len(sf.files) != 1 || sf.files[0].name != sources[i].target:
					t.Errorf("%s: call %d got files %+v, want %s", name, i, sf.files, sources[i].target)
				case len(sf.files[0].rows) != sizes[i] || len(sf.files[0].errors) != 0:
					t.Errorf("%s: %s gave %d rows and %v, want %d rows", name, sources[i].target, len(sf.files[0].rows), sf.files[0].errors, sizes[i])
				case !strings.HasSuffix(sf.files[0].rows[0].Ref, fmt.Sprintf("/c-%02d-0", i)):
					t.Errorf("%s: call %d got %s first", name, i, sf.files[0].rows[0].Ref)
				}
				return true
			})
			if len(got) != len(sources) {
				t.Errorf("%s: each called %d times for %d sources", name, len(got), len(sources))
			}
			// Where the parsing goroutines leave the caller a CPU, the
			// caller, whose each returns at once, parses too.
			if helps := parseWorkers(procs, writesInProcess(s)) < procs; helps != (byCaller > 0) {
				t.Errorf("%s: the caller parsed %d of the sources", name, byCaller)
			}
			calls := 0
			c.readSources(context.Background(), &reading{access: c.access()}, loc, src, sources, func(sourceFiles) bool {
				calls++
				return calls < 3
			})
			if calls != 3 {
				t.Errorf("%s: each returning false at its 3rd call was called %d times", name, calls)
			}
			// A context cancelled at the 2nd source: what was parsed
			// already may still come (at most one source a CPU, plus
			// one, ahead), then its error.
			ctx, cancel := context.WithCancel(context.Background())
			calls = 0
			var last error
			c.readSources(ctx, &reading{access: c.access()}, loc, src, sources, func(sf sourceFiles) bool {
				calls++
				if calls == 2 {
					cancel()
				}
				last = sf.err
				return sf.err == nil
			})
			cancel()
			if !errors.Is(last, context.Canceled) || calls > 2+procs+2 {
				t.Errorf("%s: cancelled at the 2nd source, each was called %d times, the last with %v", name, calls, last)
			}
		}
	}
}
