package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// BenchSizes are the catalog sizes the search benchmarks load:
// RIGGER_BENCH_SIZES (comma-separated, as the e2e benchmarks read it) or
// 100000.
func BenchSizes() []int {
	if v := os.Getenv("RIGGER_BENCH_SIZES"); v != "" {
		var out []int
		for _, s := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
				out = append(out, n)
			}
		}
		return out
	}
	return []int{100000}
}

// benchWords are pronounceable made-up words (three syllables), so names,
// prefixes and typos behave like real ones.
func benchWords(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	cons, vows := "bdfgklmnprstvz", "aeiou"
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for range 3 {
			b.WriteByte(cons[r.IntN(len(cons))])
			b.WriteByte(vows[r.IntN(len(vows))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// benchEntities are n components from index from: owned by 50 teams, one
// in 20 of them sensitive, each with a title, a description of eight
// words and two tags.
func benchEntities(tb testing.TB, words []string, from, n int) []store.Entity {
	tb.Helper()
	r := rand.New(rand.NewPCG(uint64(from), 7))
	pick := func() string { return words[r.IntN(len(words))] }
	out := make([]store.Entity, 0, n)
	for i := from; i < from+n; i++ {
		w1, w2 := pick(), pick()
		desc := make([]string, 8)
		for j := range desc {
			desc[j] = pick()
		}
		md := map[string]any{
			"name": fmt.Sprintf("%s-%s-%d", w1, w2, i), "namespace": "default",
			"title":       strings.ToUpper(w1[:1]) + w1[1:] + " " + w2,
			"description": strings.Join(desc, " ") + ".",
			"tags":        []any{words[i%40], words[40+i%13]},
		}
		if i%20 == 0 {
			md["annotations"] = map[string]any{"rigger.dev/sensitive": "true"}
		}
		e := catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": md,
			"spec": map[string]any{"type": "service", "lifecycle": "production", "owner": fmt.Sprintf("team-%d", i%50)}}
		row, err := catalog.Row(e)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, row)
	}
	return out
}

// benchName is the name benchEntities gives entity i.
func benchName(words []string, i int) string {
	r := rand.New(rand.NewPCG(uint64(i-i%benchChunk), 7))
	var w1, w2 string
	for j := i - i%benchChunk; j <= i; j++ {
		w1, w2 = words[r.IntN(len(words))], words[r.IntN(len(words))]
		for range 8 {
			r.IntN(len(words))
		}
	}
	return fmt.Sprintf("%s-%s-%d", w1, w2, i)
}

// benchChunk is how many entities one location of the query benchmark holds.
const benchChunk = 10000

// typo changes one letter in the middle of w.
func typo(w string) string {
	b := []byte(w)
	i := len(b) / 2
	if b[i] == 'x' {
		b[i] = 'y'
	} else {
		b[i] = 'x'
	}
	return string(b)
}

func percentileMS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(float64(len(sorted)-1)*p)].Microseconds()) / 1000
}

// BenchSearchQuery loads n entities (in locations of 10,000) and n/10
// docs pages (ten for each of n/100 entities), then times searches as
// alice of team-1 under the default policy (so one in 20 entities, the
// sensitive ones of other teams, are filtered out in SQL): exact names,
// 3-letter prefixes, one-letter typos, description words, a word plus a
// prefix, and docs headings; p50 and p99 in ms over all and per kind of
// query, right after the load and in a steady pass (BenchSearchQueries).
// serverCPU (nil: none) is as for BenchSearchIngest.
func BenchSearchQuery(b *testing.B, open func(b *testing.B) store.Store, n int, serverCPU func() time.Duration) {
	s := open(b)
	LoadSearchBench(b, s, n)
	BenchSearchQueries(b, s, n, serverCPU)
}

// LoadSearchBench loads what BenchSearchQuery searches into s: n
// entities (in locations of 10,000) and n/10 docs pages.
func LoadSearchBench(b *testing.B, s store.Store, n int) {
	ctx := context.Background()
	words := benchWordList
	t0 := time.Now()
	for from := 0; from < n; from += benchChunk {
		loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/bench-%d.yaml", from)}))
		must(s.ReplaceLocation(ctx, loc.ID, benchEntities(b, words, from, min(benchChunk, n-from)), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	}
	b.ReportMetric(time.Since(t0).Seconds(), "s-load-entities")
	t0 = time.Now()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < n/100; i++ {
		ref := "component:default/" + benchName(words, i*100+1)
		docs := make([]store.DocsSearchDoc, 10)
		for j := range docs {
			text := make([]string, 60)
			for k := range text {
				text[k] = words[r.IntN(len(words))]
			}
			docs[j] = store.DocsSearchDoc{Location: fmt.Sprintf("page-%d/#%s", j, words[(i+j)%len(words)]),
				Title: "Configuring " + words[(i*10+j)%len(words)], Text: strings.Join(text, " ")}
		}
		if err := s.ReplaceDocsIndex(ctx, ref, docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(t0).Seconds(), "s-load-docs")
	// The store's own upkeep after the load (PostgreSQL's vacuum) is the
	// load's: the searches are timed after it.
	if m, ok := s.(interface{ WaitMaintenance() }); ok {
		m.WaitMaintenance()
	}
}

// BenchSearchQueries times BenchSearchQuery's searches of a store
// LoadSearchBench loaded with n entities, in two passes of other random
// terms:
//
//   - the first, right after the load (p50-ms, p99-ms and the per-kind
//     figures): every search then reads pages this process has not
//     touched since the load's writes. Here that costs more than the
//     searches' own work: a page fault (a first touch of mapped memory)
//     takes 17-20 µs on this VM, and a SQLite connection maps the file
//     anew after any write by another, as a PostgreSQL backend faults in
//     the shared buffers it has not touched yet;
//   - the steady one (steady-*), after steadyWarmPasses untimed passes:
//     what a server that has been answering for a while and was not
//     written to since gives.
//
// Besides each search's wall time, it reports the percentiles of its CPU
// time in this process (on a shared machine the wall time's tail is
// mostly other loads), and with serverCPU the database server's mean CPU
// time per search of the first pass (its clock ticks are too coarse for
// one search's).
func BenchSearchQueries(b *testing.B, s store.Store, n int, serverCPU func() time.Duration) {
	// The first pass's random stream goes on from the docs' (as it did
	// when one function loaded and searched): figures stay comparable.
	r := rand.New(rand.NewPCG(3, 4))
	for range n / 100 * 10 * 60 {
		r.IntN(len(benchWordList))
	}
	var server time.Duration
	if serverCPU != nil {
		server = serverCPU()
	}
	// ns/op is the first pass's, as before the steady pass was added.
	b.ResetTimer()
	first := searchPass(b, s, n, r, b.N, "first")
	b.StopTimer()
	if serverCPU != nil {
		b.ReportMetric(float64((serverCPU()-server).Microseconds())/1000/float64(len(first.all)), "server-cpu-ms/search")
	}
	for pass := range steadyWarmPasses {
		searchPass(b, s, n, rand.New(rand.NewPCG(5, uint64(pass))), 1, fmt.Sprint("warm-up ", pass+1))
	}
	// Other terms again: the steady pass's exact names, and a share of
	// its other terms, were not searched before (their pages may have
	// been read for other searches).
	steady := searchPass(b, s, n, rand.New(rand.NewPCG(6, 7)), b.N, "steady")
	first.report(b, "")
	steady.report(b, "steady-")
}

// steadyWarmPasses are the untimed passes before BenchSearchQueries'
// steady one: fewer left PostgreSQL's figures falling from one pass to the
// next at 100k (the test server's 64 MB of shared buffers, faulted in by
// each backend).
const steadyWarmPasses = 2

// benchWordList is benchWords(2000), the words of every search benchmark.
var benchWordList = benchWords(2000)

// searchClasses are the kinds of query BenchSearchQueries times, each
// drawing its terms from r.
func searchClasses(words []string, n int, r *rand.Rand) []struct {
	name string
	term func() string
} {
	return []struct {
		name string
		term func() string
	}{
		{"exact", func() string { return benchName(words, r.IntN(n)) }},
		{"prefix", func() string { return words[r.IntN(len(words))][:3] }},
		{"typo", func() string { return typo(words[r.IntN(len(words))]) }},
		{"description", func() string { return words[r.IntN(len(words))] }},
		{"two-words", func() string { return words[r.IntN(len(words))] + " " + words[r.IntN(len(words))][:4] }},
		{"docs-heading", func() string { return "configuring " + words[r.IntN(len(words))] }},
	}
}

// passTimes are one pass's search times: wall and CPU times of all its
// searches, and wall times by kind of query (in searchClasses' order).
type passTimes struct {
	all, cpus []time.Duration
	per       map[string][]time.Duration
	order     []string
}

// searchPass runs iterations times 25 searches of each kind, with terms
// from r, as alice of team-1 under the default policy (so one in 20
// entities, the sensitive ones of other teams, are filtered out in SQL);
// name names the pass in its slow-sample log lines.
func searchPass(b *testing.B, s store.Store, n int, r *rand.Rand, iterations int, name string) passTimes {
	ctx := context.Background()
	aliceEnt := []string{"user:default/alice", "group:default/team-1"}
	pol, err := permission.Default()
	if err != nil {
		b.Fatal(err)
	}
	pr := permission.Principal{Ref: "user:default/alice", Ent: aliceEnt}
	access := must(pol.EntityFilter(pr, permission.EntityRead))
	docsAccess := store.And(access, must(pol.EntityFilter(pr, permission.DocsRead)))
	// RIGGER_BENCH_SLOW_MS logs each sample at least that slow, in order.
	var slow time.Duration
	if ms, err := strconv.Atoi(os.Getenv("RIGGER_BENCH_SLOW_MS")); err == nil && ms > 0 {
		slow = time.Duration(ms) * time.Millisecond
	}
	pt := passTimes{per: map[string][]time.Duration{}}
	classes := searchClasses(benchWordList, n, r)
	for _, c := range classes {
		pt.order = append(pt.order, c.name)
	}
	for range iterations {
		for _, c := range classes {
			for range 25 {
				term := c.term()
				cpu, t := cpuTime(), time.Now()
				p, err := s.Search(ctx, store.SearchQuery{Term: term, Access: access, DocsAccess: docsAccess, Limit: 25, PreTag: "<b>", PostTag: "</b>"})
				d := time.Since(t)
				pt.cpus = append(pt.cpus, cpuTime()-cpu)
				if err != nil {
					b.Fatal(err)
				}
				if c.name == "exact" && (len(p.Results) == 0 || p.Results[0].EntityRef != "component:default/"+term) && !strings.HasSuffix(term, "0") {
					b.Fatalf("exact %q: first %v of %d", term, p.Results, p.Total)
				}
				if slow > 0 && d >= slow {
					b.Logf("slow sample (%s pass): %s %q #%d: %v (%d results of %d)", name, c.name, term, len(pt.all), d, len(p.Results), p.Total)
				}
				pt.all = append(pt.all, d)
				pt.per[c.name] = append(pt.per[c.name], d)
			}
		}
	}
	return pt
}

// report reports a pass's percentiles, their names prefixed.
func (pt passTimes) report(b *testing.B, prefix string) {
	slices.Sort(pt.all)
	slices.Sort(pt.cpus)
	b.ReportMetric(percentileMS(pt.all, 0.5), prefix+"p50-ms")
	b.ReportMetric(percentileMS(pt.all, 0.99), prefix+"p99-ms")
	b.ReportMetric(percentileMS(pt.cpus, 0.5), prefix+"cpu-p50-ms")
	b.ReportMetric(percentileMS(pt.cpus, 0.99), prefix+"cpu-p99-ms")
	for _, name := range pt.order {
		slices.Sort(pt.per[name])
		b.ReportMetric(percentileMS(pt.per[name], 0.5), prefix+name+"-p50-ms")
		b.ReportMetric(percentileMS(pt.per[name], 0.99), prefix+name+"-p99-ms")
	}
}

// BenchSearchIngest measures what the search index adds to ingestion: n
// entities written into a fresh store (a first load), then n more into a
// second location of the same store (an incremental load, indexes live),
// with the index's upkeep on and off (SetSearchIndexing), in alternating
// order (off first in odd iterations, on first in even ones).
//
// Besides the wall time of each write, it reports CPU time: this
// process's, plus serverCPU's (the database server's, for a store that is
// not in process; nil: none), which other loads of a shared machine do not
// change as they change the wall time. A write's CPU time counts what the
// write leaves to do after it commits, so that work never lands in
// another write's figure: the store's own upkeep (SQL.WaitMaintenance:
// PostgreSQL's vacuum of the batch, SQLite's copy of its write-ahead log
// into the file) and, for a store with a Checkpoint
// method (a server's), writing the pages it dirtied out. Before each
// write the Go heap is collected and the server checkpointed, uncounted,
// so no earlier write's garbage or pages are counted in it.
//
// Per iteration it logs each write's CPU time with and without the index;
// the metrics are the means over iterations, the median of the
// iterations' index costs, and the write's transaction alone
// (-write-index-cpu-cost-%).
func BenchSearchIngest(b *testing.B, open func(b *testing.B) store.Store, n int, serverCPU func() time.Duration) {
	ctx := context.Background()
	words := benchWordList
	first, second := benchEntities(b, words, 0, n), benchEntities(b, words, n, n)
	// cpu is this process's CPU time and the server's (0: none).
	cpu := func() (client, server time.Duration) {
		if serverCPU == nil {
			return cpuTime(), 0
		}
		return cpuTime(), serverCPU()
	}
	phases := [2]string{"first-load", "incremental"}
	// [phase][indexing off, on]: the sums of wall time, of the
	// transaction's CPU time and of the whole write's, and each
	// iteration's index cost (%).
	var wall, txCPU, allCPU [2][2]time.Duration
	var costs [2][]float64
	b.ResetTimer()
	for it := range b.N {
		// [phase][off, on]: this iteration's CPU time, and the server's part.
		var iter, iterServer [2][2]time.Duration
		order := []bool{false, true}
		if it%2 == 1 {
			order = []bool{true, false}
		}
		for _, indexing := range order {
			b.StopTimer()
			s := open(b)
			toggler, ok := s.(interface{ SetSearchIndexing(bool) })
			if !ok {
				b.Fatalf("%T cannot turn its search index off", s)
			}
			toggler.SetSearchIndexing(indexing)
			on := 0
			if indexing {
				on = 1
			}
			for i, batch := range [][]store.Entity{first, second} {
				loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/ingest-%d.yaml", i)}))
				settle(b, s)
				b.StartTimer()
				c0, s0 := cpu()
				t := time.Now()
				must(s.ReplaceLocation(ctx, loc.ID, slices.Clone(batch), store.ReplaceOptions{Orphans: store.OrphanDelete}))
				d := time.Since(t)
				c1, s1 := cpu()
				b.StopTimer()
				upkeep(b, s)
				c2, s2 := cpu()
				wall[i][on] += d
				txCPU[i][on] += c1 - c0 + s1 - s0
				allCPU[i][on] += c2 - c0 + s2 - s0
				iter[i][on], iterServer[i][on] = c2-c0+s2-s0, s2-s0
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		line := fmt.Sprintf("iteration %d (index %s first), CPU ms without index / with", it+1, map[bool]string{false: "off", true: "on"}[order[0]])
		if serverCPU != nil {
			line += " (the server's part)"
		}
		line += ":"
		for i, name := range phases {
			costs[i] = append(costs[i], 100*(float64(iter[i][1])/float64(iter[i][0])-1))
			ms := func(on int) string {
				if serverCPU == nil {
					return fmt.Sprint(iter[i][on].Milliseconds())
				}
				return fmt.Sprintf("%d (%d)", iter[i][on].Milliseconds(), iterServer[i][on].Milliseconds())
			}
			line += fmt.Sprintf(" %s %s / %s %+.1f %%;", name, ms(0), ms(1), costs[i][len(costs[i])-1])
		}
		b.Log(strings.TrimSuffix(line, ";"))
	}
	b.StopTimer()
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	for i, name := range phases {
		b.ReportMetric(perOp(wall[i][0]), name+"-ms-without-index")
		b.ReportMetric(perOp(wall[i][1]), name+"-ms-with-index")
		b.ReportMetric(100*(float64(wall[i][1])/float64(wall[i][0])-1), name+"-index-cost-%")
		b.ReportMetric(perOp(allCPU[i][0]), name+"-cpu-ms-without-index")
		b.ReportMetric(perOp(allCPU[i][1]), name+"-cpu-ms-with-index")
		b.ReportMetric(100*(float64(allCPU[i][1])/float64(allCPU[i][0])-1), name+"-index-cpu-cost-%")
		b.ReportMetric(100*(float64(txCPU[i][1])/float64(txCPU[i][0])-1), name+"-write-index-cpu-cost-%")
		slices.Sort(costs[i])
		b.ReportMetric(median(costs[i]), name+"-index-cpu-cost-median-%")
	}
}

// settle leaves s with nothing of earlier writes to do: its upkeep done,
// and the Go heap collected.
func settle(b *testing.B, s store.Store) {
	upkeep(b, s)
	runtime.GC()
}

// upkeep waits for what s does after a write commits (its maintenance)
// and, for a store with a Checkpoint method, has the pages the write
// dirtied written out.
func upkeep(b *testing.B, s store.Store) {
	if m, ok := s.(interface{ WaitMaintenance() }); ok {
		m.WaitMaintenance()
	}
	if c, ok := s.(interface{ Checkpoint(context.Context) error }); ok {
		if err := c.Checkpoint(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// median of sorted values (0: none).
func median(sorted []float64) float64 {
	switch n := len(sorted); {
	case n == 0:
		return 0
	case n%2 == 1:
		return sorted[n/2]
	default:
		return (sorted[n/2-1] + sorted[n/2]) / 2
	}
}
