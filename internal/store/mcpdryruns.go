package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// DryRunReceipt is a dry run an agent did through /api/mcp: a template_run
// of the same template and values by the same caller needs one, and uses
// it up.
type DryRunReceipt struct {
	Caller, TemplateRef, ValuesHash string
	// TemplateVersion is the template's uid and body hash the dry run ran
	// (tasks.Service.TemplateVersion).
	TemplateVersion string
	// Plan is what the dry run showed (JSON), returned with the run; at
	// most MaxDryRunPlan bytes.
	Plan    []byte
	Created time.Time
}

// MaxDryRunPlan bounds a receipt's plan.
const MaxDryRunPlan = 256 << 10

// receiptTime is a fixed-width UTC time: its text sorts as the time does
// (RFC3339Nano drops trailing zeros, and "05Z" sorts after "05.5Z").
const receiptTime = "2006-01-02T15:04:05.000000000Z"

// PutDryRunReceipt records r (replacing one of the same caller, template
// and values) and deletes the receipts created before olderThan.
func (s *SQL) PutDryRunReceipt(ctx context.Context, r DryRunReceipt, olderThan time.Time) error {
	if len(r.Plan) > MaxDryRunPlan {
		return fmt.Errorf("%w: a dry run's plan is %d bytes; at most %d are kept", errs.ErrInvalid, len(r.Plan), MaxDryRunPlan)
	}
	defer s.lockWrites()()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM mcp_dry_runs WHERE created_at < ? OR (caller = ? AND template_ref = ? AND values_hash = ?)`),
			olderThan.UTC().Format(receiptTime), r.Caller, r.TemplateRef, r.ValuesHash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO mcp_dry_runs (caller, template_ref, values_hash, template_version, plan, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
			r.Caller, r.TemplateRef, r.ValuesHash, r.TemplateVersion, string(r.Plan), r.Created.UTC().Format(receiptTime))
		return err
	})
}

// TakeDryRunReceipt finds the receipt of caller, template and values
// created at or after since and deletes it in the same statement: of two
// runs racing for one receipt, one gets it. ok is false when there is
// none. It deletes the receipts older than since too.
func (s *SQL) TakeDryRunReceipt(ctx context.Context, caller, templateRef, valuesHash string, since time.Time) (r DryRunReceipt, ok bool, err error) {
	defer s.lockWrites()()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		at := since.UTC().Format(receiptTime)
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM mcp_dry_runs WHERE created_at < ?`), at); err != nil {
			return err
		}
		var plan, created string
		err := tx.QueryRowContext(ctx, s.q(`DELETE FROM mcp_dry_runs WHERE caller = ? AND template_ref = ? AND values_hash = ? AND created_at >= ?
RETURNING template_version, plan, created_at`), caller, templateRef, valuesHash, at).Scan(&r.TemplateVersion, &plan, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		r.Caller, r.TemplateRef, r.ValuesHash, r.Plan = caller, templateRef, valuesHash, []byte(plan)
		r.Created, _ = time.Parse(receiptTime, created)
		return nil
	})
	if err != nil {
		return DryRunReceipt{}, false, err
	}
	return r, ok, nil
}
