package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/postgres"
)

func TestUserTokensSQLite(t *testing.T) {
	testUserTokens(t, testDB(t, filepath.Join(t.TempDir(), "r.db")))
}

func TestUserTokensPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pg.DB(t, "auth"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testUserTokens(t, st)
}

// allowAll is the policy's yes, for the broker.
type allowAll struct{}

func (allowAll) MayUse(context.Context, credentials.Need) error { return nil }

// testUserTokens: octocat signs in with GitHub (the fake, granting the
// extra repo scope), the token is stored sealed; a task granted at its
// creation gets exactly that token from the broker, for its creator only;
// no sign-in, a missing scope, another user's run and an ungranted task
// are refused naming the secretsKey; the token is in no error or log.
func testUserTokens(t *testing.T, st UserTokenStore) {
	ctx := context.Background()
	f := newFakeGitHub(t)
	g, err := NewGitHub(GitHubConfig{ClientID: ghClientID, ClientSecret: ghSecret, WebURL: f.srv.URL, APIURL: f.srv.URL + "/api/v3", UserTokenScopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	u, p, err := g.Begin(ctx, "http://127.0.0.1:9/api/auth/github/handler/frame")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := g.Finish(ctx, p, f.authorize(t, u, "octocat"))
	if err != nil {
		t.Fatal(err)
	}
	issued := pid.Token.Reveal()
	if issued == "" || !strings.Contains(pid.TokenScopes, "repo") {
		t.Fatalf("sign-in gave no token or not the repo scope: %q", pid.TokenScopes)
	}
	ut, err := NewUserTokens(st, testDataKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	const octo, alice = "user:default/octocat", "user:default/alice"
	if err := ut.Save(ctx, octo, pid.Provider, pid.Token, SplitScopes(pid.TokenScopes)); err != nil {
		t.Fatal(err)
	}
	// Sealed at rest.
	stored, err := st.UserCredential(ctx, octo, "github")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Sealed, []byte(issued)) {
		t.Fatal("the stored user token is in the clear")
	}

	var logs bytes.Buffer
	b := credentials.NewBroker(allowAll{}, slog.New(slog.NewTextHandler(&logs, nil)))
	b.UserTokens = ut
	need := func(task, user string) credentials.Need {
		return credentials.Need{Integration: "github", Action: "publish:github", Target: "github.com/acme/svc", UserSecretsKey: "USER_OAUTH_TOKEN",
			Permissions: map[string]string{"contents": "write"}, Run: credentials.Run{TaskID: task, UserRef: user, Ent: []string{user}}}
	}

	// Granted at task creation, handed out for that task and user.
	if err := ut.Grant(ctx, "task-1", "USER_OAUTH_TOKEN", octo, "github", []string{"repo"}); err != nil {
		t.Fatal(err)
	}
	cred, err := b.Get(ctx, need("task-1", octo))
	if err != nil {
		t.Fatal(err)
	}
	if cred.Token.Reveal() != issued || !strings.Contains(cred.Source, "user token of "+octo) {
		t.Fatalf("the broker handed out %s, not octocat's own token", cred)
	}

	var refusals []error
	refused := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want an error saying %q", what, err, want)
		}
		refusals = append(refusals, err)
	}
	// Alice never signed in with GitHub: her task cannot be granted.
	err = ut.Grant(ctx, "task-2", "USER_OAUTH_TOKEN", alice, "github", []string{"repo"})
	refused("no GitHub sign-in", err, "secretsKey USER_OAUTH_TOKEN")
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("no GitHub sign-in: %v is not ErrInvalid", err)
	}
	// A scope the sign-in did not grant.
	refused("missing scope", ut.Grant(ctx, "task-3", "USER_OAUTH_TOKEN", octo, "github", []string{"workflow"}), "workflow")
	// Another user's run of task-1, and a task never granted.
	_, err = b.Get(ctx, need("task-1", alice))
	refused("another user's run", err, "belongs to "+octo)
	_, err = b.Get(ctx, need("task-4", octo))
	refused("ungranted task", err, "USER_OAUTH_TOKEN")
	// A grant cannot be switched to another user.
	refused("regrant", st.GrantTaskUserCredential(ctx, store.TaskUserCredential{TaskID: "task-1", SecretsKey: "USER_OAUTH_TOKEN", UserRef: alice, Provider: "github"}), "another user")

	for _, e := range refusals {
		if strings.Contains(e.Error(), issued) {
			t.Fatalf("an error holds the token: %v", e)
		}
	}
	if strings.Contains(logs.String(), issued) || strings.Contains(fmt.Sprintf("%v %+v %#v", cred, cred, pid), issued) {
		t.Fatal("the token was logged or printed")
	}
}
