package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Settings keeps small named values across restarts and replicas.
type Settings interface {
	// Setting returns the value stored under name; ok is false when
	// there is none.
	Setting(ctx context.Context, name string) (value string, ok bool, err error)
	// PutSetting stores value under name, replacing any.
	PutSetting(ctx context.Context, name, value string) error
}

var _ Settings = (*SQL)(nil)

// Setting implements Settings.
func (s *SQL) Setting(ctx context.Context, name string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", name, err)
	}
	return v, true, nil
}

// PutSetting implements Settings.
func (s *SQL) PutSetting(ctx context.Context, name, value string) error {
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), name, value, AuditTime(time.Now()))
	if err != nil {
		return fmt.Errorf("store setting %s: %w", name, err)
	}
	return nil
}
