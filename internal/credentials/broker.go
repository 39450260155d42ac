// Package credentials is the credential broker: an action asks for what it
// needs (integration, target, permissions) for the run it serves, the
// broker asks the permission policy whether that user may run that action
// on that target, and a Minter of the integration mints the narrowest
// short-lived credential it can. Credentials are never activity inputs or
// outputs and never print themselves.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/errs"
)

// Run is who a credential is for: the run's signed grant (runsign.Claims).
type Run struct {
	TaskID      string
	TemplateRef string
	// UserRef is the user the run acts for (user:default/alice) or a
	// service (service:<name>).
	UserRef string
	// Ent are the user's ownership refs: its own ref and its groups.
	Ent     []string
	Service bool
	Scopes  []string
	// Channel is the run's signed channel: "mcp" for an agent's run, ""
	// (the policy's "api") otherwise.
	Channel string
}

// Need is what an action asks the broker for.
type Need struct {
	// Integration names the Minter: "github", "aws", "git".
	Integration string
	// Action is the action id asking, e.g. publish:github; the policy
	// decides scaffolder.action.execute on it and Target.
	Action string
	// Target is what the credential will touch, in the integration's own
	// words: "github.com/acme/payments" (host/owner/repo), an S3 ARN.
	Target string
	// Permissions are what the action declares it needs on Target, e.g.
	// GitHub's {"contents": "write"}. A Minter grants these and no more.
	Permissions map[string]string
	// SessionPolicy is an AWS session policy document (JSON) narrowing
	// the session to what the step declares; other integrations ignore it.
	SessionPolicy string
	// Run is who asks.
	Run Run
	// UserSecretsKey, when set, asks for the run's user's own token that
	// the task was granted at its creation for this secretsKey of its
	// template (RepoUrlPicker's requestUserCredentials, a step input
	// `token: ${{ secrets.<key> }}`) instead of a minted one.
	UserSecretsKey string
}

// PermissionList renders Permissions sorted, "contents:write,issues:read".
func (n Need) PermissionList() string {
	keys := make([]string, 0, len(n.Permissions))
	for k := range n.Permissions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + n.Permissions[k]
	}
	return strings.Join(parts, ",")
}

// Credential is one minted credential. Its secret parts are Secrets; the
// whole value also redacts itself when printed, logged or marshalled.
type Credential struct {
	Integration string
	Target      string
	// Token is a bearer token (GitHub installation or user token, a git
	// host token).
	Token Secret
	// Username goes with Token for HTTP basic auth (git over HTTPS:
	// x-access-token for GitHub).
	Username string
	// AWS session parts.
	AccessKeyID     string
	SecretAccessKey Secret
	SessionToken    Secret
	// Expires is when the credential stops working.
	Expires time.Time
	// Source says where it came from, for the task log: "github-app 123
	// installation 456", "user token", "sts session rigger-alice-<task>".
	Source string
}

// Secrets lists the secret parts, for Scrub.
func (c Credential) Secrets() []Secret {
	return []Secret{c.Token, c.SecretAccessKey, c.SessionToken}
}

// String implements fmt.Stringer without any secret.
func (c Credential) String() string {
	return fmt.Sprintf("%s credential for %s (%s, expires %s)", c.Integration, c.Target, c.Source, c.Expires.UTC().Format(time.RFC3339))
}

// GoString implements fmt.GoStringer (%#v).
func (c Credential) GoString() string { return c.String() }

// Format implements fmt.Formatter: %+v or %#v must not walk the fields.
func (c Credential) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue implements slog.LogValuer.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("integration", c.Integration), slog.String("target", c.Target),
		slog.String("source", c.Source), slog.Time("expires", c.Expires))
}

// MarshalJSON implements json.Marshaler: a credential never becomes an
// activity input, output or event, and if one is marshalled by mistake
// it carries nothing secret.
func (c Credential) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"integration":%q,"target":%q,"source":%q,"expires":%q}`,
		c.Integration, c.Target, c.Source, c.Expires.UTC().Format(time.RFC3339))), nil
}

// Minter mints credentials of one integration.
type Minter interface {
	// Integration is the Need.Integration it serves.
	Integration() string
	// Mint returns a credential for need, already allowed by the policy.
	// Its errors must not hold a secret.
	Mint(ctx context.Context, need Need) (Credential, error)
}

// Decider is the permission policy's say on one need:
// scaffolder.action.execute for the need's action and target, for its
// run's user. Nil error allows.
type Decider interface {
	MayUse(ctx context.Context, need Need) error
}

// Broker hands out credentials. The zero value refuses everything.
type Broker struct {
	decider Decider
	minters map[string]Minter
	logger  *slog.Logger
	// Audit records every credential minted and every need refused
	// (credential.mint, allow or deny); nil records none.
	Audit audit.Recorder
	// UserTokens opens users' own tokens granted to tasks; nil refuses
	// every Need with a UserSecretsKey.
	UserTokens UserTokens
}

// UserTokens give a task its creator's own provider token, granted at the
// task's creation for a secretsKey (auth.UserTokens).
type UserTokens interface {
	ForTask(ctx context.Context, taskID, secretsKey, user string) (Secret, string, error)
}

// NewBroker returns a Broker that asks decider before minting with the
// Minter of each integration. A nil decider refuses every need (deny by
// default).
func NewBroker(decider Decider, logger *slog.Logger, minters ...Minter) *Broker {
	b := &Broker{decider: decider, minters: map[string]Minter{}, logger: logger}
	for _, m := range minters {
		if m != nil {
			b.minters[m.Integration()] = m
		}
	}
	return b
}

// ErrNoIntegration is a need for an integration this worker has no
// configuration for.
var ErrNoIntegration = errors.New("no credentials configured")

// Get checks the need against the policy and mints its credential.
// A refusal wraps errs.ErrForbidden; a missing integration wraps
// ErrNoIntegration; both say which action, target and user.
func (b *Broker) Get(ctx context.Context, need Need) (Credential, error) {
	if b == nil {
		return Credential{}, fmt.Errorf("%s: %w for %s on this worker", need.Action, ErrNoIntegration, need.Integration)
	}
	if need.Integration == "" || need.Action == "" || need.Target == "" || need.Run.UserRef == "" || need.Run.TaskID == "" {
		return Credential{}, fmt.Errorf("credential request incomplete: integration %q, action %q, target %q, user %q and task %q are all required",
			need.Integration, need.Action, need.Target, need.Run.UserRef, need.Run.TaskID)
	}
	if b.decider == nil {
		b.audit(ctx, need, audit.Deny, "this worker has no permission policy")
		return Credential{}, fmt.Errorf("%w: %s may not use %s on %s: this worker has no permission policy", errs.ErrForbidden, need.Run.UserRef, need.Action, need.Target)
	}
	if err := b.decider.MayUse(ctx, need); err != nil {
		b.audit(ctx, need, audit.Deny, err.Error())
		return Credential{}, fmt.Errorf("%s may not use %s on %s: %w", need.Run.UserRef, need.Action, need.Target, err)
	}
	if need.UserSecretsKey != "" {
		return b.userToken(ctx, need)
	}
	m, ok := b.minters[need.Integration]
	if !ok {
		return Credential{}, fmt.Errorf("%s on %s: %w for %s on this worker (integrations.%s)", need.Action, need.Target, ErrNoIntegration, need.Integration, need.Integration)
	}
	cred, err := m.Mint(ctx, need)
	if err != nil {
		// Allowed, but nothing was minted: on record too.
		b.audit(ctx, need, audit.Deny, "allowed, but the mint failed: "+err.Error())
		return Credential{}, fmt.Errorf("mint a %s credential for %s on %s: %w", need.Integration, need.Action, need.Target, err)
	}
	if b.logger != nil {
		b.logger.Info("credential minted", "task", need.Run.TaskID, "user", need.Run.UserRef, "action", need.Action,
			"permissions", need.PermissionList(), "credential", cred)
	}
	b.audit(ctx, need, audit.Allow, "")
	return cred, nil
}

// audit records a need's outcome: who, for which task, action, target
// and permissions (never the credential).
func (b *Broker) audit(ctx context.Context, need Need, d audit.Decision, reason string) {
	if b.Audit == nil {
		return
	}
	kind := audit.ActorUser
	if need.Run.Service {
		kind = audit.ActorService
	}
	b.Audit.Record(context.WithoutCancel(ctx), audit.Event{Actor: need.Run.UserRef, ActorKind: kind, Ownership: need.Run.Ent,
		Action: "credential.mint", Target: need.Integration + ":" + need.Target, Decision: d, Reason: reason,
		Details: map[string]string{"task": need.Run.TaskID, "action": need.Action, "permissions": need.PermissionList()}})
}

// Has says whether the broker can mint for integration.
func (b *Broker) Has(integration string) bool {
	if b == nil {
		return false
	}
	_, ok := b.minters[integration]
	return ok
}

// userToken hands out the run's user's own token granted to the task for
// need.UserSecretsKey: the user's, never another's, and only to the task
// it was granted to.
func (b *Broker) userToken(ctx context.Context, need Need) (Credential, error) {
	if b.UserTokens == nil {
		b.audit(ctx, need, audit.Deny, "this worker keeps no user tokens")
		return Credential{}, fmt.Errorf("%s on %s: the template asks for the user's own credentials (secretsKey %s), and %w for user tokens on this worker",
			need.Action, need.Target, need.UserSecretsKey, ErrNoIntegration)
	}
	if need.Run.Service {
		b.audit(ctx, need, audit.Deny, "a service has no user token")
		return Credential{}, fmt.Errorf("%w: %s runs as a service, which has no user credentials for secretsKey %s", errs.ErrForbidden, need.Run.UserRef, need.UserSecretsKey)
	}
	tok, provider, err := b.UserTokens.ForTask(ctx, need.Run.TaskID, need.UserSecretsKey, need.Run.UserRef)
	if err != nil {
		b.audit(ctx, need, audit.Deny, "user token: "+err.Error())
		return Credential{}, fmt.Errorf("the user's own credentials for secretsKey %s (%s on %s): %w", need.UserSecretsKey, need.Action, need.Target, ScrubError(err, tok))
	}
	cred := Credential{Integration: need.Integration, Target: need.Target, Token: tok, Username: "x-access-token",
		Source: fmt.Sprintf("%s user token of %s (requestUserCredentials %s)", provider, need.Run.UserRef, need.UserSecretsKey)}
	if b.logger != nil {
		b.logger.Info("user credential handed out", "task", need.Run.TaskID, "user", need.Run.UserRef, "action", need.Action, "credential", cred)
	}
	b.audit(ctx, need, audit.Allow, "")
	return cred, nil
}

// userCredentialPrefix starts a UserCredentialMarker.
const userCredentialPrefix = "rigger-user-credential:"

// UserCredentialMarker is what a task's secret named secretsKey holds
// when the template asks for the user's own credentials: not the token,
// a marker. A step input `token: ${{ secrets.<key> }}` resolves to it,
// and the action asks the broker for Need.UserSecretsKey = key, which
// only the task granted at its creation (for its creator) gets.
func UserCredentialMarker(secretsKey string) string { return userCredentialPrefix + secretsKey }

// UserCredentialKey is the secretsKey of a UserCredentialMarker, or "".
func UserCredentialKey(v string) string {
	key, ok := strings.CutPrefix(v, userCredentialPrefix)
	if !ok {
		return ""
	}
	return key
}
