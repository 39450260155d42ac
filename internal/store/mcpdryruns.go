package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// DryRunReceipt is a dry run an agent did through /api/mcp: a template_run
// of the same template and values by the same caller needs one.
type DryRunReceipt struct {
	Caller, TemplateRef, ValuesHash string
	// Plan is what the dry run showed (JSON), returned with the run.
	Plan    []byte
	Created time.Time
}

// receiptTime is a fixed-width UTC time: its text sorts as the time does
// (RFC3339Nano drops trailing zeros, and "05Z" sorts after "05.5Z").
const receiptTime = "2006-01-02T15:04:05.000000000Z"

// PutDryRunReceipt records r (replacing one of the same caller, template
// and values) and deletes the receipts created before olderThan.
func (s *SQL) PutDryRunReceipt(ctx context.Context, r DryRunReceipt, olderThan time.Time) error {
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM mcp_dry_runs WHERE created_at < ? OR (caller = ? AND template_ref = ? AND values_hash = ?)`),
			olderThan.UTC().Format(receiptTime), r.Caller, r.TemplateRef, r.ValuesHash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO mcp_dry_runs (caller, template_ref, values_hash, plan, created_at) VALUES (?, ?, ?, ?, ?)`),
			r.Caller, r.TemplateRef, r.ValuesHash, string(r.Plan), r.Created.UTC().Format(receiptTime))
		return err
	})
}

// DryRunReceipt finds the receipt of caller, template and values created
// at or after since; ok is false when there is none.
func (s *SQL) DryRunReceipt(ctx context.Context, caller, templateRef, valuesHash string, since time.Time) (r DryRunReceipt, ok bool, err error) {
	var plan, created string
	err = s.db.QueryRowContext(ctx, s.q(`SELECT plan, created_at FROM mcp_dry_runs WHERE caller = ? AND template_ref = ? AND values_hash = ? AND created_at >= ?`),
		caller, templateRef, valuesHash, since.UTC().Format(receiptTime)).Scan(&plan, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return DryRunReceipt{}, false, nil
	}
	if err != nil {
		return DryRunReceipt{}, false, err
	}
	r = DryRunReceipt{Caller: caller, TemplateRef: templateRef, ValuesHash: valuesHash, Plan: []byte(plan)}
	r.Created, _ = time.Parse(receiptTime, created)
	return r, true, nil
}
