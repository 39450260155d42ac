package auth

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// UserTokenStore keeps sealed user tokens and the tasks that may use them.
type UserTokenStore interface {
	PutUserCredential(ctx context.Context, c store.UserCredential) error
	UserCredential(ctx context.Context, user, provider string) (store.UserCredential, error)
	GrantTaskUserCredential(ctx context.Context, g store.TaskUserCredential) error
	TaskUserCredential(ctx context.Context, taskID, secretsKey string) (store.TaskUserCredential, error)
	TaskUserCredentials(ctx context.Context, taskID string) ([]store.TaskUserCredential, error)
}

// UserTokens keep the provider token a user signed in with (GitHub's
// OAuth token), sealed with the data key (scaffolder.secretKey) and bound
// to its user and provider, so a template that asks for the user's own
// credentials (RepoUrlPicker's requestUserCredentials) acts as that user.
// A task may use the token only when granted at its creation, for the
// secretsKey its template declared, and only for its creator. The token
// itself is never in a task's values, secrets, history, events or logs.
type UserTokens struct {
	st   UserTokenStore
	aead cipher.AEAD
	now  func() time.Time
}

// NewUserTokens seals with dataKey (32 bytes); it does no I/O.
func NewUserTokens(st UserTokenStore, dataKey []byte, now func() time.Time) (*UserTokens, error) {
	if st == nil {
		return nil, errors.New("user tokens need a store")
	}
	if len(dataKey) != 32 {
		return nil, errors.New("user tokens need scaffolder.secretKey (32 bytes) to seal them")
	}
	aead, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &UserTokens{st: st, aead: aead, now: now}, nil
}

func userTokenAD(user, provider string) []byte {
	return []byte("rigger user token\x00" + provider + "\x00" + user)
}

// Save stores the token user signed in with at provider, granted scopes.
func (u *UserTokens) Save(ctx context.Context, user, provider string, tok credentials.Secret, scopes []string) error {
	if tok.Empty() {
		return errs.Invalid("no %s token to store for %s", provider, user)
	}
	sealed, err := sealWith(u.aead, []byte(tok.Reveal()), userTokenAD(user, provider))
	if err != nil {
		return err
	}
	return u.st.PutUserCredential(ctx, store.UserCredential{UserRef: user, Provider: provider,
		Sealed: sealed, Scopes: scopes, Updated: u.now().UTC()})
}

// Grant lets task use its creator's token of provider for secretsKey. It
// fails, naming the secretsKey, when the user has no such token (did not
// sign in with that provider) or it lacks one of scopes.
func (u *UserTokens) Grant(ctx context.Context, taskID, secretsKey, user, provider string, scopes []string) error {
	c, err := u.st.UserCredential(ctx, user, provider)
	if errors.Is(err, errs.ErrNotFound) {
		return errs.Invalid("the template asks for your own %s credentials (requestUserCredentials, secretsKey %s), and %s did not sign in with %s: sign in with %s and start the task again",
			provider, secretsKey, user, provider, provider)
	}
	if err != nil {
		return err
	}
	if missing := missingScopes(c.Scopes, scopes); len(missing) > 0 {
		return errs.Invalid("the template asks for your own %s credentials (secretsKey %s) with the scopes %s, which your %s sign-in did not grant: sign in again with %s granting them",
			provider, secretsKey, strings.Join(missing, ", "), provider, provider)
	}
	return u.st.GrantTaskUserCredential(ctx, store.TaskUserCredential{TaskID: taskID, SecretsKey: secretsKey, UserRef: user, Provider: provider, Created: u.now().UTC()})
}

// TaskGrants lists the user credentials task was granted at its creation
// (which secretsKey, whose token), never the tokens.
func (u *UserTokens) TaskGrants(ctx context.Context, taskID string) ([]store.TaskUserCredential, error) {
	return u.st.TaskUserCredentials(ctx, taskID)
}

// missingScopes are the wanted scopes granted lacks. GitHub's "repo"
// includes "public_repo"; other scopes must be named as they are.
func missingScopes(granted, want []string) []string {
	var out []string
	for _, w := range want {
		w = strings.TrimSpace(w)
		if w == "" || slices.Contains(granted, w) || (w == "public_repo" && slices.Contains(granted, "repo")) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// ForTask opens the token task was granted for secretsKey, for the run
// of user: the grant must name that user (a task is never given another
// user's token). Errors name the task and key, never the token.
func (u *UserTokens) ForTask(ctx context.Context, taskID, secretsKey, user string) (credentials.Secret, string, error) {
	g, err := u.st.TaskUserCredential(ctx, taskID, secretsKey)
	if err != nil {
		return credentials.Secret{}, "", err
	}
	if g.UserRef != user {
		return credentials.Secret{}, "", errs.Forbidden("task %s's credential %s belongs to %s, not %s", taskID, secretsKey, g.UserRef, user)
	}
	c, err := u.st.UserCredential(ctx, g.UserRef, g.Provider)
	if err != nil {
		return credentials.Secret{}, "", err
	}
	raw, err := openWith(u.aead, c.Sealed, userTokenAD(g.UserRef, g.Provider))
	if err != nil {
		return credentials.Secret{}, "", fmt.Errorf("the stored %s token of %s does not open with this scaffolder.secretKey: sign in again", g.Provider, g.UserRef)
	}
	return credentials.NewSecret(string(raw)), g.Provider, nil
}

// UserCredentialRequest is a template's RepoUrlPicker asking for the
// user's own credentials: `ui:options.requestUserCredentials` with
// `secretsKey` and `additionalScopes.github` (Backstage's shape).
type UserCredentialRequest struct {
	// Field is the parameter that asks.
	Field      string
	SecretsKey string
	// Scopes are the GitHub scopes it needs besides sign-in's.
	Scopes []string
}

// UserCredentialRequests finds the requests in a template's parameter
// pages (raw JSON Schema objects), by page then field name.
func UserCredentialRequests(pages []map[string]any) []UserCredentialRequest {
	var out []UserCredentialRequest
	for _, page := range pages {
		props, _ := page["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(props)) {
			prop, _ := props[name].(map[string]any)
			opts, _ := prop["ui:options"].(map[string]any)
			rc, _ := opts["requestUserCredentials"].(map[string]any)
			key, _ := rc["secretsKey"].(string)
			if prop["ui:field"] != "RepoUrlPicker" || key == "" {
				continue
			}
			r := UserCredentialRequest{Field: name, SecretsKey: key}
			add, _ := rc["additionalScopes"].(map[string]any)
			scopes, _ := add["github"].([]any)
			for _, s := range scopes {
				if s, ok := s.(string); ok && s != "" {
					r.Scopes = append(r.Scopes, s)
				}
			}
			out = append(out, r)
		}
	}
	return out
}
