package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// PutTaskSecrets implements TaskSecrets. The entry is written by one
// upsert, so writers of the same task at once (two replicas) each succeed
// and one entry stays; expired entries of any task are purged after.
func (s *SQL) PutTaskSecrets(ctx context.Context, taskID string, sealed []byte, expires time.Time) error {
	defer s.lockWrites()()
	now := s.now().UTC().Format(time.RFC3339Nano)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO task_secrets (task_id, sealed, expires_at) VALUES (?, ?, ?)
ON CONFLICT (task_id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`),
		taskID, base64.StdEncoding.EncodeToString(sealed), expires.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("store the secrets of task %s: %w", taskID, err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM task_secrets WHERE expires_at < ? AND task_id <> ?`), now, taskID); err != nil {
		return fmt.Errorf("purge expired task secrets: %w", err)
	}
	return nil
}

// GetTaskSecrets implements TaskSecrets.
func (s *SQL) GetTaskSecrets(ctx context.Context, taskID string) ([]byte, error) {
	var enc string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT sealed FROM task_secrets WHERE task_id = ? AND expires_at >= ?`),
		taskID, s.now().UTC().Format(time.RFC3339Nano)).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("task %s has no stored secrets (they were deleted when it finished, or expired)", taskID)
	}
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(enc)
}

// ExtendTaskSecrets implements TaskSecrets.
func (s *SQL) ExtendTaskSecrets(ctx context.Context, taskID string, expires time.Time) error {
	defer s.lockWrites()()
	exp := expires.UTC().Format(time.RFC3339Nano)
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE task_secrets SET expires_at = ? WHERE task_id = ? AND expires_at < ?`), exp, taskID, exp)
	return err
}

// DeleteTaskSecrets implements TaskSecrets.
func (s *SQL) DeleteTaskSecrets(ctx context.Context, taskID string) error {
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM task_secrets WHERE task_id = ?`), taskID)
	return err
}
