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
	defer s.lockWrites()()
	out := make([]AuditRecord, len(recs))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
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
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO audit_events (seq, id, at, actor, action, target, decision, body, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`))
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
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
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
