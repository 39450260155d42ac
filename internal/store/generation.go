package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// The catalog's write generation: a number that every committed write of
// the entities table raises (a trigger, so every write path and every
// replica's writes count, whichever release wrote them), read in the same
// statement as what it describes. Two reads that see the same generation
// see the same entities and search rows: a decision taken from one (what a
// caller may not read: HiddenSet) holds for the other, with no statement
// between them.
//
// The generation is SUM(n) over catalog_generation. On PostgreSQL a
// statement-level trigger bumps a row of its own transaction's (keyed by
// its transaction id): writers never lock a row another writer locks, so
// the trigger adds no wait and no deadlock between them (a shared row
// would: a writer holding it while it waits on an entity another writer
// has deleted, whose trigger waits for that row; review36). A
// transaction's first bump also folds the rows of committed transactions
// into row 0, in the same transaction, when it can lock row 0 without
// waiting (SKIP LOCKED: else the next writer folds them) and it runs at
// READ COMMITTED (the store's writers do), so a read sums
// about as many rows as transactions wrote since the last fold (~8 µs for
// 257 rows; 4,097 rows cost a read 0.13 ms, pgbench). A fold moves counts
// without changing the sum, and a later snapshot sees every increment an
// earlier one saw, so the sum only grows and equal sums mean the same
// committed writes. SQLite serializes writes: one row, bumped per row
// written (it has no statement-level triggers; ~0.4 µs a row, when the
// write runs OR FAIL: see Dialect.OrFail). The seed
// row (slot 0, 1) keeps a generation read from a store positive. A
// migration that rebuilds the entities table must create the triggers
// again (the WriteGeneration conformance test fails without them).
const (
	catalogGenerationPostgres = `
CREATE TABLE catalog_generation (
  slot BIGINT PRIMARY KEY,
  n BIGINT NOT NULL
);
INSERT INTO catalog_generation (slot, n) VALUES (0, 1);
CREATE FUNCTION catalog_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $gen$
DECLARE
  me BIGINT := txid_current();
  first BOOLEAN;
  folded BIGINT;
BEGIN
  INSERT INTO catalog_generation (slot, n) VALUES (me, 1)
    ON CONFLICT (slot) DO UPDATE SET n = catalog_generation.n + 1
    RETURNING xmax = 0 INTO first;
  -- A fold reads committed rows as of now: at REPEATABLE READ or above the
  -- transaction's snapshot may be older (and locking row 0 after another
  -- fold is a serialization failure), so only READ COMMITTED writers fold.
  IF first AND current_setting('transaction_isolation') = 'read committed' THEN
    PERFORM 1 FROM catalog_generation WHERE slot = 0 FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
      WITH gone AS (
        DELETE FROM catalog_generation WHERE slot <> 0 AND slot <> me RETURNING n
      )
      SELECT COALESCE(SUM(n), 0) INTO folded FROM gone;
      IF folded > 0 THEN
        UPDATE catalog_generation SET n = n + folded WHERE slot = 0;
      END IF;
    END IF;
  END IF;
  RETURN NULL;
END
$gen$;
CREATE TRIGGER entities_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON entities
  FOR EACH STATEMENT EXECUTE FUNCTION catalog_generation_bump();
`
	catalogGenerationSQLite = `
CREATE TABLE catalog_generation (
  slot INTEGER PRIMARY KEY,
  n INTEGER NOT NULL
);
INSERT INTO catalog_generation (slot, n) VALUES (0, 1);
CREATE TRIGGER entities_generation_insert AFTER INSERT ON entities BEGIN
  UPDATE catalog_generation SET n = n + 1 WHERE slot = 0;
END;
CREATE TRIGGER entities_generation_update AFTER UPDATE ON entities BEGIN
  UPDATE catalog_generation SET n = n + 1 WHERE slot = 0;
END;
CREATE TRIGGER entities_generation_delete AFTER DELETE ON entities BEGIN
  UPDATE catalog_generation SET n = n + 1 WHERE slot = 0;
END;
`
)

// generationCol is a scalar subquery reading the catalog's write
// generation, for a read statement's select list (evaluated once per
// statement).
func (s *SQL) generationCol() string {
	if s.d.Name == "postgres" {
		return "(SELECT SUM(n)::bigint FROM catalog_generation)"
	}
	return "(SELECT SUM(n) FROM catalog_generation)"
}

// HiddenSet implements Store: the keys of the stored entities that access
// does not admit and the write generation they were read at, in one
// statement; whole is false (and refs holds max+1 of them) when there are
// more than max.
func (s *SQL) HiddenSet(ctx context.Context, access *Expr, max int) (gen int64, refs map[string]bool, whole bool, err error) {
	refs = map[string]bool{}
	q := s.builder()
	q.add("SELECT g.n, h.ref FROM (SELECT " + s.generationCol() + " AS n) g LEFT JOIN (SELECT e.ref FROM entities e WHERE ")
	notAdmitted(&q, access, true)
	q.limit(max + 1)
	q.add(") h ON 1=1")
	rows, err := s.cachedQuery(ctx, q.b.String(), q.args...)
	if err != nil {
		return 0, nil, false, fmt.Errorf("hidden set: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref *string
		if err := rows.Scan(&gen, &ref); err != nil {
			return 0, nil, false, fmt.Errorf("hidden set: %w", err)
		}
		if ref != nil {
			refs[*ref] = true
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, false, fmt.Errorf("hidden set: %w", err)
	}
	return gen, refs, len(refs) <= max, nil
}

// notAdmitted writes e (neg: its negation, where e is not true) with every
// negation pushed down to the conditions, so that a condition an entity
// must meet is an index-served semi-join: the entities a policy hides
// (those annotated sensitive, not owned by the caller) are found from the
// few index rows of the annotation, not by testing every entity. No
// condition is NULL (each is an IN over non-null values or an EXISTS), so
// "not true" is NOT, as HiddenRefs's CASE decides.
func notAdmitted(q *sqlBuilder, e *Expr, neg bool) {
	switch op := e.op(); op {
	case ExprTrue, ExprFalse:
		if (op == ExprTrue) != neg {
			q.add("1=1")
		} else {
			q.add("1=0")
		}
	case ExprNot:
		notAdmitted(q, e.Args[0], !neg)
	case ExprAnd, ExprOr:
		sep := " AND "
		if (op == ExprOr) != neg {
			sep = " OR "
		}
		q.add("(")
		for i, a := range e.Args {
			if i > 0 {
				q.add(sep)
			}
			notAdmitted(q, a, neg)
		}
		q.add(")")
	case ExprCond:
		if neg {
			q.add("NOT (")
			probe(q, e.Cond)
			q.add(")")
			return
		}
		probeAs(q, e.Cond, true)
	}
}

// Key is a string equal for two predicates exactly when they select the
// same entities the same way: the SQL they are written as, with its
// arguments (for caches of what a predicate decides).
func (e *Expr) Key() string {
	var q sqlBuilder
	expr(&q, e)
	args, _ := json.Marshal(q.args) // strings and numbers: never fails
	return q.b.String() + "\x00" + string(args)
}
