package store

import (
	"context"
	"database/sql"
	"time"
)

var _ Waits = (*SQL)(nil)

// PutWait implements Waits.
func (s *SQL) PutWait(ctx context.Context, key, taskID, requestID string, expires time.Time) error {
	defer s.lockWrites()()
	now := s.now().UTC().Format(time.RFC3339Nano)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM scaffolder_waits WHERE expires_at < ? OR (wait_key = ? AND task_id = ? AND request_id = ?)`),
			now, key, taskID, requestID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO scaffolder_waits (wait_key, task_id, request_id, expires_at) VALUES (?, ?, ?, ?)`),
			key, taskID, requestID, expires.UTC().Format(time.RFC3339Nano))
		return err
	})
}

// DeleteWaits implements Waits.
func (s *SQL) DeleteWaits(ctx context.Context, taskID, requestID string) error {
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM scaffolder_waits WHERE task_id = ? AND request_id = ?`), taskID, requestID)
	return err
}

// WaitsFor implements Waits.
func (s *SQL) WaitsFor(ctx context.Context, key string, limit int) ([]Wait, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT task_id, request_id, expires_at FROM scaffolder_waits WHERE wait_key = ? AND expires_at >= ? ORDER BY task_id, request_id LIMIT ?`),
		key, s.now().UTC().Format(time.RFC3339Nano), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Wait
	for rows.Next() {
		var w Wait
		var exp string
		if err := rows.Scan(&w.TaskID, &w.RequestID, &exp); err != nil {
			return nil, err
		}
		w.Expires, _ = time.Parse(time.RFC3339Nano, exp)
		out = append(out, w)
	}
	return out, rows.Err()
}

// FirstDelivery implements Waits.
func (s *SQL) FirstDelivery(ctx context.Context, id string, expires time.Time) (bool, error) {
	defer s.lockWrites()()
	now := s.now().UTC().Format(time.RFC3339Nano)
	fresh := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE expires_at < ?`), now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO webhook_deliveries (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`),
			id, expires.UTC().Format(time.RFC3339Nano))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	return fresh, err
}

// ForgetDelivery implements Waits.
func (s *SQL) ForgetDelivery(ctx context.Context, id string) error {
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE id = ?`), id)
	return err
}
