package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
)

const planted = "ghs_plantedTokenValue0123456789"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(planted)
	c := Credential{Integration: "github", Target: "github.com/acme/x", Token: s, SecretAccessKey: NewSecret(planted + "-aws"), Source: "test", Expires: time.Unix(0, 0)}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("x", "secret", s, "cred", c)
	log.Info("y", slog.Any("nested", map[string]any{"c": c, "s": s}))
	j, err := json.Marshal(map[string]any{"c": c, "s": s, "p": &c})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c, c, c), fmt.Sprintf("%+v", &c),
		fmt.Sprintf("%+v", struct{ C Credential }{c}), string(j), logs.String(),
		ScrubError(fmt.Errorf("git push https://x-access-token:%s@host: denied", planted), s).Error(),
		Scrub("Authorization: Bearer "+planted, c.Secrets()...),
	}
	for _, o := range out {
		if strings.Contains(o, planted) {
			t.Errorf("a secret printed: %s", o)
		}
		if !strings.Contains(o, Redacted) && !strings.Contains(o, "github credential for") {
			t.Errorf("expected a redaction marker in %q", o)
		}
	}
	if s.Reveal() != planted {
		t.Fatal("Reveal lost the value")
	}
}

type fakeMinter struct{ calls int }

func (*fakeMinter) Integration() string { return "github" }
func (m *fakeMinter) Mint(_ context.Context, n Need) (Credential, error) {
	m.calls++
	return Credential{Integration: "github", Target: n.Target, Token: NewSecret(planted), Source: "test minter"}, nil
}

func policy(t *testing.T, text string) *permission.Policy {
	t.Helper()
	p, err := permission.Parse("test.cedar", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBrokerAsksThePolicyPerTarget(t *testing.T) {
	p := policy(t, `
permit (principal is Rigger::User, action == Rigger::Action::"scaffolder.action.execute", resource is Rigger::ScaffolderAction)
when { resource.integration == "github" && resource.target like "github.com/acme/*" && principal.ent.contains("group:default/team-a") };
forbid (principal, action, resource is Rigger::ScaffolderAction) when { resource.target like "github.com/acme/secret*" };
`)
	m := &fakeMinter{}
	var logs bytes.Buffer
	b := NewBroker(PolicyDecider{Policy: p}, slog.New(slog.NewTextHandler(&logs, nil)), m)
	rec := &auditLog{}
	b.Audit = rec
	alice := Run{TaskID: "t1", UserRef: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	bob := Run{TaskID: "t2", UserRef: "user:default/bob", Ent: []string{"user:default/bob", "group:default/team-b"}}
	need := func(r Run, target string) Need {
		return Need{Integration: "github", Action: "publish:github", Target: target, Permissions: map[string]string{"contents": "write"}, Run: r}
	}
	if _, err := b.Get(context.Background(), need(alice, "github.com/acme/payments")); err != nil {
		t.Fatalf("alice on acme/payments: %v", err)
	}
	for _, tc := range []struct {
		name string
		n    Need
	}{
		{"another team", need(bob, "github.com/acme/payments")},
		{"another org", need(alice, "github.com/evil/payments")},
		{"a forbidden repository", need(alice, "github.com/acme/secrets")},
	} {
		_, err := b.Get(context.Background(), tc.n)
		if !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("%s: want forbidden, got %v", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.n.Target) || !strings.Contains(err.Error(), tc.n.Run.UserRef) {
			t.Errorf("%s: the refusal should name user and target: %v", tc.name, err)
		}
	}
	if m.calls != 1 {
		t.Fatalf("the minter ran %d times, want 1 (only for the allowed need)", m.calls)
	}
	if strings.Contains(logs.String(), planted) || !strings.Contains(logs.String(), "credential minted") {
		t.Fatalf("log: %s", logs.String())
	}
	// Audited: the one mint and the three refusals, never the credential.
	var got []string
	for _, e := range rec.events {
		got = append(got, string(e.Decision)+" "+e.Actor+" "+e.Target+" "+e.Details["action"])
		if strings.Contains(fmt.Sprint(e), planted) {
			t.Fatalf("an audit event holds the credential: %+v", e)
		}
	}
	want := []string{"allow user:default/alice github:github.com/acme/payments publish:github", "deny user:default/bob github:github.com/acme/payments publish:github",
		"deny user:default/alice github:github.com/evil/payments publish:github", "deny user:default/alice github:github.com/acme/secrets publish:github"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBrokerDeniesByDefault(t *testing.T) {
	alice := Run{TaskID: "t1", UserRef: "user:default/alice"}
	n := Need{Integration: "github", Action: "publish:github", Target: "github.com/acme/x", Run: alice}
	if _, err := NewBroker(nil, nil, &fakeMinter{}).Get(context.Background(), n); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("no decider: %v", err)
	}
	var nilBroker *Broker
	if _, err := nilBroker.Get(context.Background(), n); !errors.Is(err, ErrNoIntegration) {
		t.Fatalf("nil broker: %v", err)
	}
	allow := policy(t, `permit (principal, action, resource);`)
	if _, err := NewBroker(PolicyDecider{Policy: allow}, nil).Get(context.Background(), n); !errors.Is(err, ErrNoIntegration) || !strings.Contains(err.Error(), "integrations.github") {
		t.Fatalf("no minter: %v", err)
	}
	n.Target = ""
	if _, err := NewBroker(PolicyDecider{Policy: allow}, nil, &fakeMinter{}).Get(context.Background(), n); err == nil || !strings.Contains(err.Error(), "target") {
		t.Fatalf("no target: %v", err)
	}
}

type auditLog struct{ events []audit.Event }

func (a *auditLog) Record(_ context.Context, e audit.Event) { a.events = append(a.events, e) }

// TestBrokerSeesTheRunsChannel: the broker decides with the channel of the
// run's signed grant, so a policy can keep credentials from agents' runs
// (context.channel "mcp"); a run without a channel is an "api" run.
func TestBrokerSeesTheRunsChannel(t *testing.T) {
	p := policy(t, `
permit (principal is Rigger::User, action == Rigger::Action::"scaffolder.action.execute", resource is Rigger::ScaffolderAction);
forbid (principal, action == Rigger::Action::"scaffolder.action.execute", resource is Rigger::ScaffolderAction) when { context.channel == "mcp" };
`)
	m := &fakeMinter{}
	b := NewBroker(PolicyDecider{Policy: p}, nil, m)
	run := Run{TaskID: "t1", UserRef: "user:default/alice", Ent: []string{"user:default/alice"}}
	need := Need{Integration: "github", Action: "publish:github", Target: "github.com/acme/payments", Run: run}
	if _, err := b.Get(context.Background(), need); err != nil {
		t.Fatalf("a run without a channel (api): %v", err)
	}
	need.Run.Channel = "mcp"
	if _, err := b.Get(context.Background(), need); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("an agent's run: %v, want forbidden", err)
	}
	if m.calls != 1 {
		t.Fatalf("the minter ran %d times, want 1", m.calls)
	}
}
