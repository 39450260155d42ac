package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AuditRecord is one audit event as stored: its canonical JSON (Body, what
// the chain hashes) plus copies of the fields the log is filtered by.
type AuditRecord struct {
	// Seq numbers the events 1, 2, 3, ... in chain order; set by AppendAudit.
	Seq      int64
	ID       string
	At       time.Time
	Actor    string
	Action   string
	Target   string
	Decision string
	Body     []byte
	// Hash is the hex SHA-256 of the previous record's hash and Body
	// (AuditChainHash); set by AppendAudit.
	Hash string
}

// AuditQuery selects audit records. Empty fields do not filter.
type AuditQuery struct {
	Actor, Action, Target string
	// Since and Until bound the event time (Since inclusive, Until exclusive).
	Since, Until time.Time
	// AfterSeq / BeforeSeq continue a listing: records with a larger
	// (ascending) or smaller (descending) seq.
	AfterSeq, BeforeSeq int64
	// Desc lists newest first.
	Desc  bool
	Limit int
}

// AuditLog stores audit events in a hash chain.
type AuditLog interface {
	// AppendAudit appends records in order, in one transaction that holds
	// the chain's lock: each gets the next seq and its chain hash. It
	// returns them with Seq and Hash set.
	AppendAudit(ctx context.Context, recs []AuditRecord) ([]AuditRecord, error)
	// AuditRecords lists records matching q, ordered by seq.
	AuditRecords(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
}

// AuditChainHash is the chain link: the hex SHA-256 of prevHex's raw bytes
// (nothing for the first event) followed by body.
func AuditChainHash(prevHex string, body []byte) (string, error) {
	prev, err := hex.DecodeString(prevHex)
	if err != nil {
		return "", fmt.Errorf("previous hash %q is not hex: %w", prevHex, err)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// AuditTime formats t as the audit_events.at column: UTC with all nine
// fractional digits, so text order is time order.
func AuditTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// AppendAudit implements AuditLog.
func (s *SQL) AppendAudit(ctx context.Context, recs []AuditRecord) ([]AuditRecord, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	defer s.lockAudit()()
	out := make([]AuditRecord, len(recs))
	err := inTxOn(ctx, s.auditDB(), func(tx *sql.Tx) error {
		if s.d.AuditLock != "" {
			if _, err := tx.ExecContext(ctx, s.d.AuditLock); err != nil {
				return fmt.Errorf("audit lock: %w", err)
			}
		}
		var seq int64
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read audit chain head: %w", err)
		}
		stmt, err := tx.PrepareContext(ctx, s.q(auditInsert))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, r := range recs {
			seq++
			h, err := AuditChainHash(prev, r.Body)
			if err != nil {
				return fmt.Errorf("audit chain head seq %d: %w", seq-1, err)
			}
			r.Seq, r.Hash = seq, h
			if _, err := stmt.ExecContext(ctx, r.Seq, r.ID, AuditTime(r.At), r.Actor, r.Action, r.Target, r.Decision, string(r.Body), r.Hash); err != nil {
				return fmt.Errorf("append audit event %s: %w", r.ID, err)
			}
			prev = h
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AuditRecords implements AuditLog.
func (s *SQL) AuditRecords(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.Target != "" {
		add("target = ?", q.Target)
	}
	if !q.Since.IsZero() {
		add("at >= ?", AuditTime(q.Since))
	}
	if !q.Until.IsZero() {
		add("at < ?", AuditTime(q.Until))
	}
	if q.AfterSeq > 0 {
		add("seq > ?", q.AfterSeq)
	}
	if q.BeforeSeq > 0 {
		add("seq < ?", q.BeforeSeq)
	}
	query := `SELECT seq, id, at, actor, action, target, decision, body, hash FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY seq"
	if q.Desc {
		query += " DESC"
	}
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.auditDB().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at, body string
		if err := rows.Scan(&r.Seq, &r.ID, &at, &r.Actor, &r.Action, &r.Target, &r.Decision, &body, &r.Hash); err != nil {
			return nil, fmt.Errorf("list audit events: %w", err)
		}
		r.At, _ = time.Parse(time.RFC3339Nano, at)
		r.Body = []byte(body)
		out = append(out, r)
	}
	return out, rows.Err()
}

// auditInsert stores an audit row; auditRowsAfter reads the rows after a
// seq, in order, up to a limit.
const (
	auditInsert    = `INSERT INTO audit_events (seq, id, at, actor, action, target, decision, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	auditRowsAfter = `SELECT seq, id, at, actor, action, target, decision, body, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`
)

// auditDB is the database holding the audit chain: Dialect.AuditDB, else
// the main one.
func (s *SQL) auditDB() *sql.DB {
	if s.d.AuditDB != nil {
		return s.d.AuditDB
	}
	return s.db
}

// lockAudit takes the lock audit appends are serialized by in this
// process: the catalog writes' one, unless the chain has a database of
// its own.
func (s *SQL) lockAudit() func() {
	if s.d.AuditDB == nil {
		return s.lockWrites()
	}
	s.auditMu.Lock()
	return s.auditMu.Unlock
}

// openAuditDB migrates Dialect.AuditDB (when set) and moves into it the
// events the main database's audit_events holds (those appended before
// the chain had a database of its own), in order, so the chain goes on
// where it was.
//
// The copy commits before the delete (the two databases commit apart, so
// a crash between them leaves copies in both, and the next open deletes
// the main database's): a row is deleted from the main database only
// once the audit database holds it with the same hash. A main-database
// row whose seq the audit database holds with another hash (an older
// binary appended to the main database after the move) stops Open with
// an error naming it, and nothing is deleted.
func (s *SQL) openAuditDB(ctx context.Context) error {
	if s.d.AuditDB == nil {
		return nil
	}
	if _, err := s.migrateDB(ctx, s.d.AuditDB, s.d.Name+" audit database", []string{auditEventsSchema}); err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		return fmt.Errorf("audit events of the main database: %w", err)
	}
	if n == 0 {
		return nil
	}
	const batch = 1000
	var last int64
	if err := s.d.AuditDB.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events`).Scan(&last); err != nil {
		return fmt.Errorf("audit database: %w", err)
	}
	// Copy what the audit database lacks, in seq order.
	for {
		recs, err := s.mainAuditRows(ctx, auditRowsAfter, last, batch)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		if err := inTxOn(ctx, s.d.AuditDB, func(tx *sql.Tx) error {
			for _, r := range recs {
				if _, err := tx.ExecContext(ctx, s.q(auditInsert),
					r.seq, r.id, r.at, r.actor, r.action, r.target, r.decision, r.body, r.hash); err != nil {
					return fmt.Errorf("move audit event %d to the audit database: %w", r.seq, err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		last = recs[len(recs)-1].seq
	}
	// Check that the audit database holds every row alike, then delete
	// them all.
	var verified int64
	for {
		recs, err := s.mainAuditRows(ctx, auditRowsAfter, verified, batch)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			var hash string
			err := s.d.AuditDB.QueryRowContext(ctx, s.q(`SELECT hash FROM audit_events WHERE seq = ?`), r.seq).Scan(&hash)
			if err != nil || hash != r.hash {
				return fmt.Errorf("audit event %d of the main database differs from the audit database's (%v): an older rigger appended to the main database after its events moved; "+
					"nothing was deleted: keep both databases and move or remove the main database's audit_events rows by hand", r.seq, orMissing(err))
			}
		}
		verified = recs[len(recs)-1].seq
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM audit_events WHERE seq <= ?`), verified)
		return err
	}); err != nil {
		return fmt.Errorf("delete moved audit events from the main database: %w", err)
	}
	return nil
}

// orMissing says what an audit row lookup found: err, "missing there"
// when there was no row, else "another hash".
func orMissing(err error) string {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "missing there"
	case err != nil:
		return err.Error()
	}
	return "another hash"
}

// auditRow is a row of audit_events as stored.
type auditRow struct {
	seq                                                 int64
	id, at, actor, action, target, decision, body, hash string
}

// mainAuditRows reads rows of the main database's audit_events.
func (s *SQL) mainAuditRows(ctx context.Context, query string, args ...any) ([]auditRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("audit events of the main database: %w", err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.seq, &r.id, &r.at, &r.actor, &r.action, &r.target, &r.decision, &r.body, &r.hash); err != nil {
			return nil, fmt.Errorf("audit events of the main database: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
