package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// UserCredential is a signed-in user's own provider token (GitHub OAuth),
// sealed by the caller with the data key: the store never sees it in the
// clear.
type UserCredential struct {
	UserRef, Provider string
	Sealed            []byte
	// Scopes are what the provider granted the token.
	Scopes  []string
	Updated time.Time
}

// TaskUserCredential lets one task use its creator's provider token for
// a secretsKey of its template (RepoUrlPicker's requestUserCredentials).
type TaskUserCredential struct {
	TaskID, SecretsKey string
	UserRef, Provider  string
	Created            time.Time
}

// UserCredentials keeps users' sealed provider tokens and which task may
// use them.
type UserCredentials interface {
	// PutUserCredential stores c, replacing the user's token of that
	// provider.
	PutUserCredential(ctx context.Context, c UserCredential) error
	// UserCredential finds a user's token; errs.ErrNotFound if none.
	UserCredential(ctx context.Context, user, provider string) (UserCredential, error)
	// GrantTaskUserCredential records g; a second grant of the same task
	// and key must name the same user and provider (errs.ErrConflict).
	GrantTaskUserCredential(ctx context.Context, g TaskUserCredential) error
	// TaskUserCredential finds a task's grant; errs.ErrNotFound if none.
	TaskUserCredential(ctx context.Context, taskID, secretsKey string) (TaskUserCredential, error)
	// TaskUserCredentials lists every grant of a task (none: empty).
	TaskUserCredentials(ctx context.Context, taskID string) ([]TaskUserCredential, error)
}

var _ UserCredentials = (*SQL)(nil)

// PutUserCredential implements UserCredentials.
func (s *SQL) PutUserCredential(ctx context.Context, c UserCredential) error {
	if c.UserRef == "" || c.Provider == "" || len(c.Sealed) == 0 {
		return errs.Invalid("a user credential needs a user, a provider and a sealed token")
	}
	defer s.lockWrites()()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO user_credentials (user_ref, provider, sealed, scopes, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (user_ref, provider) DO UPDATE SET sealed = excluded.sealed, scopes = excluded.scopes, updated_at = excluded.updated_at`),
		c.UserRef, c.Provider, string(c.Sealed), jsonList(c.Scopes), authTime(c.Updated))
	if err != nil {
		return fmt.Errorf("store the %s token of %s: %w", c.Provider, c.UserRef, err)
	}
	return nil
}

// UserCredential implements UserCredentials.
func (s *SQL) UserCredential(ctx context.Context, user, provider string) (UserCredential, error) {
	c := UserCredential{UserRef: user, Provider: provider}
	var sealed, scopes string
	var updated sql.NullString
	err := s.db.QueryRowContext(ctx, s.q(`SELECT sealed, scopes, updated_at FROM user_credentials WHERE user_ref = ? AND provider = ?`), user, provider).
		Scan(&sealed, &scopes, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return UserCredential{}, errs.NotFound("%s has no stored %s token", user, provider)
	}
	if err != nil {
		return UserCredential{}, fmt.Errorf("read the %s token of %s: %w", provider, user, err)
	}
	c.Sealed, c.Scopes, c.Updated = []byte(sealed), parseList(scopes), parseAuthTime(updated)
	return c, nil
}

// GrantTaskUserCredential implements UserCredentials. The grant is
// inserted unless one exists, in one statement, and the one stored is
// then compared: of grants of the same task and key at once (two
// replicas), each either succeeds or is refused as a conflict.
func (s *SQL) GrantTaskUserCredential(ctx context.Context, g TaskUserCredential) error {
	if g.TaskID == "" || g.SecretsKey == "" || g.UserRef == "" || g.Provider == "" {
		return errs.Invalid("a task's user credential needs a task, a secretsKey, a user and a provider")
	}
	defer s.lockWrites()()
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO task_user_credentials (task_id, secrets_key, user_ref, provider, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (task_id, secrets_key) DO NOTHING`), g.TaskID, g.SecretsKey, g.UserRef, g.Provider, authTime(g.Created))
	if err != nil {
		return fmt.Errorf("store task credential %s of %s: %w", g.SecretsKey, g.TaskID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var user, provider string
	err = s.db.QueryRowContext(ctx, s.q(`SELECT user_ref, provider FROM task_user_credentials WHERE task_id = ? AND secrets_key = ?`), g.TaskID, g.SecretsKey).Scan(&user, &provider)
	if err != nil {
		// Grants are never deleted on their own: a row that conflicted
		// is there to read.
		return fmt.Errorf("read task credentials: %w", err)
	}
	if user != g.UserRef || provider != g.Provider {
		return errs.Conflict("task %s already uses another user's credential for %s", g.TaskID, g.SecretsKey)
	}
	return nil
}

// TaskUserCredential implements UserCredentials.
func (s *SQL) TaskUserCredential(ctx context.Context, taskID, secretsKey string) (TaskUserCredential, error) {
	g := TaskUserCredential{TaskID: taskID, SecretsKey: secretsKey}
	var created sql.NullString
	err := s.db.QueryRowContext(ctx, s.q(`SELECT user_ref, provider, created_at FROM task_user_credentials WHERE task_id = ? AND secrets_key = ?`), taskID, secretsKey).
		Scan(&g.UserRef, &g.Provider, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return TaskUserCredential{}, errs.NotFound("task %s may use no user credential for %s", taskID, secretsKey)
	}
	if err != nil {
		return TaskUserCredential{}, fmt.Errorf("read task credentials: %w", err)
	}
	g.Created = parseAuthTime(created)
	return g, nil
}

// TaskUserCredentials implements UserCredentials.
func (s *SQL) TaskUserCredentials(ctx context.Context, taskID string) ([]TaskUserCredential, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT secrets_key, user_ref, provider, created_at FROM task_user_credentials WHERE task_id = ? ORDER BY secrets_key`), taskID)
	if err != nil {
		return nil, fmt.Errorf("read task credentials: %w", err)
	}
	defer rows.Close()
	var out []TaskUserCredential
	for rows.Next() {
		g := TaskUserCredential{TaskID: taskID}
		var created sql.NullString
		if err := rows.Scan(&g.SecretsKey, &g.UserRef, &g.Provider, &created); err != nil {
			return nil, fmt.Errorf("read task credentials: %w", err)
		}
		g.Created = parseAuthTime(created)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read task credentials: %w", err)
	}
	return out, nil
}
