package store

import (
	"fmt"
	"testing"
)

// BenchmarkSearchRowWrite: what a PostgreSQL write spends in Go on one
// entity's search row: the row's values, its vocabulary words and its
// vector in the binary form a COPY sends (AppendTSVectorBinary) (the writes of
// BenchmarkSearchIngest spend it 10,000 times a batch).
func BenchmarkSearchRowWrite(b *testing.B) {
	s := &SQL{d: Dialect{FullText: FullTextPostgres}}
	words := []string{"kuvizu", "nofima", "rabeli", "buzomu", "goduka", "gigezu", "fedazu", "vemisu", "rodedu", "milapi", "sosoga", "febeka"}
	fields := make([]IndexedFields, 100)
	for i := range fields {
		w := func(j int) string { return words[(i*7+j)%len(words)] }
		fields[i] = IndexedFields{Kind: "Component", Name: fmt.Sprintf("%s-%s-%d", w(0), w(1), i), Title: "Kuvizu " + w(1),
			Description: fmt.Sprintf("%s %s %s %s %s %s %s %s.", w(2), w(3), w(4), w(5), w(6), w(7), w(8), w(9)),
			Type:        "service", Owner: fmt.Sprintf("team-%d", i%50), Lifecycle: "production", Tags: []string{w(10), w(11)}}
	}
	var buf []byte
	vocab := map[string]bool{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%len(fields) == 0 {
			buf = buf[:0]
		}
		f := &fields[i%len(fields)]
		vals := s.searchValues(entitySearchRow(int64(i), "component:default/"+f.Name, nil, f), vocab)
		buf = vals[len(vals)-1].(searchFields).AppendTSVectorBinary(buf)
	}
}
