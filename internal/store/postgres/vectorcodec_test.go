package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// rawVector is a value that appends a binary tsvector it holds.
type rawVector []byte

func (v rawVector) AppendTSVectorBinary(buf []byte) []byte { return append(buf, v...) }

// TestVectorCodec: on a connection the store's way (useVectorCodec), a
// value that appends its binary tsvector is written as it appends it, in
// a COPY and as a statement's parameter, and other tsvector values (a
// pgtype.TSVector) as pgx writes them.
func TestVectorCodec(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(freshDB(t))
	if err != nil {
		t.Fatal(err)
	}
	conn := connectWith(t, cfg)
	if err := useVectorCodec(ctx, conn); err != nil {
		t.Fatal(err)
	}
	// 'api':2A,4B 'payments':1A,3B,9
	raw := rawVector{0, 0, 0, 2,
		'a', 'p', 'i', 0, 0, 2, 0xc0, 2, 0x80, 4,
		'p', 'a', 'y', 'm', 'e', 'n', 't', 's', 0, 0, 3, 0xc0, 1, 0x80, 3, 0, 9}
	const want = `'api':2A,4B 'payments':1A,3B,9`
	if _, err := conn.Exec(ctx, `CREATE TABLE v (id INT, tsv tsvector)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"v"}, []string{"id", "tsv"}, pgx.CopyFromRows([][]any{{1, raw}})); err != nil {
		t.Fatalf("copy: %v", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO v VALUES (2, $1)`, raw); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var v pgtype.TSVector
	if err := conn.QueryRow(ctx, `SELECT tsv FROM v WHERE id = 1`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO v VALUES (3, $1)`, v); err != nil {
		t.Fatalf("insert a pgtype.TSVector: %v", err)
	}
	rows, err := conn.Query(ctx, `SELECT id, tsv::text FROM v ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		ID   int
		Text string
	}])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d rows", len(got))
	}
	for _, r := range got {
		if r.Text != want {
			t.Errorf("row %d: %s, want %s", r.ID, r.Text, want)
		}
	}
}
