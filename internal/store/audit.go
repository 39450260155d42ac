package store

import (
	"context"
	"crypto/rand"
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
		// Each size's statement, rebound for the dialect once a batch.
		texts := map[int]string{}
		args := make([]any, 0, auditColumns*min(len(recs), auditInsertRows[0]))
		for i := 0; i < len(recs); {
			n := auditRowsNext(len(recs) - i)
			args = args[:0]
			for j := i; j < i+n; j++ {
				r := recs[j]
				seq++
				h, err := AuditChainHash(prev, r.Body)
				if err != nil {
					return fmt.Errorf("audit chain head seq %d: %w", seq-1, err)
				}
				r.Seq, r.Hash = seq, h
				args = append(args, r.Seq, r.ID, AuditTime(r.At), r.Actor, r.Action, r.Target, r.Decision, string(r.Body), r.Hash)
				prev = h
				out[j] = r
			}
			text, ok := texts[n]
			if !ok {
				text = s.q(auditInsertOf(n))
				texts[n] = text
			}
			if _, err := tx.ExecContext(ctx, text, args...); err != nil {
				if n == 1 {
					return fmt.Errorf("append audit event %s: %w", recs[i].ID, err)
				}
				return fmt.Errorf("append audit events %s to %s: %w", recs[i].ID, recs[i+n-1].ID, err)
			}
			i += n
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
	auditInsert    = `INSERT INTO audit_events (seq, id, at, actor, action, target, decision, body, hash) VALUES ` + auditValues
	auditValues    = `(?, ?, ?, ?, ?, ?, ?, ?, ?)`
	auditColumns   = 9
	auditRowsAfter = `SELECT seq, id, at, actor, action, target, decision, body, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`
)

// auditInsertRows are the row counts of the INSERTs AppendAudit writes a
// batch with, largest first (a few statement texts, each prepared once per
// connection by the driver). One statement a row cost a batch of 256 read
// events 256 round trips to PostgreSQL: for 3,000 by-name reads' events
// its backend spent ~0.08 s instead of ~0.13 (2026-12-07; the reads' p99
// did not move with it alone). 32 rows keep a statement's 288 parameters
// under SQLite's Dialect.MaxParams.
var auditInsertRows = [...]int{32, 8, 1}

// auditRowsNext is how many of left rows the next INSERT writes.
func auditRowsNext(left int) int {
	for _, n := range auditInsertRows {
		if left >= n {
			return n
		}
	}
	return left
}

// auditInsertOf is auditInsert for n rows.
func auditInsertOf(n int) string {
	if n == 1 {
		return auditInsert
	}
	return auditInsert + strings.Repeat(", "+auditValues, n-1)
}

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

// openAuditDB migrates Dialect.AuditDB (when set), checks it is the
// audit file the main database was used with, and moves into it the
// events the main database's audit_events holds (those appended before
// the chain had a database of its own), so the chain goes on where it
// was.
//
// The two databases carry the id the audit file got when it was made
// (audit_file): a file missing, emptied or replaced since stops Open
// rather than start a new chain unnoticed.
//
// The move runs in one transaction of the audit database, holding its
// write lock (processes opening together take turns): every main row
// whose seq the audit database already holds must be there with the same
// hash, and the first row copied must chain from its head; else Open
// stops with an error naming the row and nothing is changed. The main
// database's rows are deleted after that commit (a crash between leaves
// copies in both, which the next open checks and deletes), each only
// with the hash that was copied.
func (s *SQL) openAuditDB(ctx context.Context) error {
	if s.d.AuditDB == nil {
		return nil
	}
	adb := s.d.AuditDB
	if _, err := s.migrateDB(ctx, adb, s.d.Name+" audit database", []string{auditEventsSchema + auditFileSchema}); err != nil {
		return err
	}
	mainID, err := auditFileID(ctx, s.db)
	if err != nil {
		return fmt.Errorf("main database: %w", err)
	}
	var moved []auditRow
	err = inTxOn(ctx, adb, func(tx *sql.Tx) error {
		// The write lock first: a process opening beside this one waits
		// here (and a file that cannot be written stops Open now rather
		// than lose each event appended later).
		if s.d.AuditLock != "" {
			if _, err := tx.ExecContext(ctx, s.d.AuditLock); err != nil {
				return fmt.Errorf("audit database: %w", err)
			}
		}
		var fileID string
		err := tx.QueryRowContext(ctx, `SELECT id FROM audit_file`).Scan(&fileID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("audit database: %w", err)
		}
		switch {
		case mainID != "" && fileID != mainID:
			return fmt.Errorf("the audit database is not the one this database's audit chain was kept in (it has id %q, the main database names %q): it was removed, emptied or replaced; "+
				"restore it from a backup (on SQLite the -audit.db file beside the database), or, to begin a new, empty chain knowingly, delete the main database's audit_file row", fileID, mainID)
		case fileID == "":
			fileID = newAuditFileID()
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit_file (id, created_at) VALUES (?, ?)`), fileID, ts(s.now())); err != nil {
				return fmt.Errorf("audit database: %w", err)
			}
		}
		mainID = fileID
		moved, err = s.moveAuditRows(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit_file (id, created_at) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM audit_file)`), mainID, ts(s.now())); err != nil {
			return fmt.Errorf("main database: record the audit database: %w", err)
		}
		if len(moved) == 0 {
			return nil
		}
		del, err := tx.PrepareContext(ctx, s.q(`DELETE FROM audit_events WHERE seq = ? AND hash = ?`))
		if err != nil {
			return err
		}
		defer del.Close()
		for _, r := range moved {
			if _, err := del.ExecContext(ctx, r.seq, r.hash); err != nil {
				return fmt.Errorf("delete moved audit event %d from the main database: %w", r.seq, err)
			}
		}
		return nil
	})
}

// moveAuditRows copies, in tx of the audit database, the main database's
// audit rows it lacks, after checking the rows it has (openAuditDB); it
// returns the seq and hash of every main row it checked or copied.
func (s *SQL) moveAuditRows(ctx context.Context, tx *sql.Tx) ([]auditRow, error) {
	var head auditRow
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&head.seq, &head.hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("audit database: %w", err)
	}
	const batch = 1000
	var out []auditRow
	for after := int64(0); ; {
		recs, err := s.mainAuditRows(ctx, auditRowsAfter, after, batch)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return out, nil
		}
		for _, r := range recs {
			if r.seq <= head.seq {
				var hash string
				err := tx.QueryRowContext(ctx, s.q(`SELECT hash FROM audit_events WHERE seq = ?`), r.seq).Scan(&hash)
				if err != nil || hash != r.hash {
					return nil, fmt.Errorf("audit event %d of the main database differs from the audit database's (%v): a rigger from before the audit file appended to the main database after its events moved; "+
						"nothing was changed: keep both databases and move or remove the main database's audit_events rows by hand", r.seq, orMissing(err))
				}
				continue
			}
			if head.seq > 0 && after <= head.seq && (r.seq != head.seq+1 || !chainsFrom(head.hash, r)) {
				return nil, fmt.Errorf("audit event %d of the main database does not follow the audit database's last event (%d): nothing was changed: "+
					"keep both databases and move or remove the main database's audit_events rows by hand", r.seq, head.seq)
			}
			if _, err := tx.ExecContext(ctx, s.q(auditInsert), r.seq, r.id, r.at, r.actor, r.action, r.target, r.decision, r.body, r.hash); err != nil {
				return nil, fmt.Errorf("move audit event %d to the audit database: %w", r.seq, err)
			}
			after = r.seq // past the junction: later rows are copied as they are
		}
		after = recs[len(recs)-1].seq
		for _, r := range recs {
			// What the delete needs, not the bodies: a chain of a
			// million events stays ~100 MB here.
			out = append(out, auditRow{seq: r.seq, hash: r.hash})
		}
	}
}

// chainsFrom says whether r's hash links it to the event whose hash is
// prev.
func chainsFrom(prev string, r auditRow) bool {
	h, err := AuditChainHash(prev, []byte(r.body))
	return err == nil && h == r.hash
}

// auditFileID reads db's audit_file id ("" when none).
func auditFileID(ctx context.Context, db *sql.DB) (string, error) {
	var id string
	err := db.QueryRowContext(ctx, `SELECT id FROM audit_file`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// newAuditFileID is a random id for a new audit database.
func newAuditFileID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
