package github

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// TestPushWithTheUsersOwnToken: a step whose input token is
// `${{ secrets.USER_OAUTH_TOKEN }}` of a template asking for the user's
// own credentials (it resolves to the task's marker) pushes with the token
// alice signed in with — the fake records which token pushed — while a
// step without it uses the App's installation token; the user's token is
// in no output, error or log.
func TestPushWithTheUsersOwnToken(t *testing.T) {
	f := newFixture(t)
	const userToken = "gho_ALICEownOAUTHtoken42"
	f.fake.AddPAT(userToken, "alice") // GitHub's answer to alice's OAuth token
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ut, err := auth.NewUserTokens(st, []byte("0123456789abcdef0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ut.Save(t.Context(), alice.UserRef, "github", credentials.NewSecret(userToken), []string{"repo"}); err != nil {
		t.Fatal(err)
	}
	if err := ut.Grant(t.Context(), alice.TaskID, "USER_OAUTH_TOKEN", alice.UserRef, "github", []string{"repo"}); err != nil {
		t.Fatal(err)
	}
	f.broker.UserTokens = ut

	writeFiles(t, f.ws, map[string]string{"site/index.html": "<h1>mine</h1>\n"})
	repo := "github.com?owner=acme&repo=mine"
	if _, err := f.run(f.ctx(false), t, ActionRepoCreate, map[string]any{"repoUrl": repo, "repoVisibility": "private"}); err != nil {
		t.Fatal(err)
	}
	appTokens := len(f.fake.TokenRequests())
	_, err = f.run(f.ctx(false), t, ActionRepoPush, map[string]any{"repoUrl": repo, "sourcePath": "site", "defaultBranch": "main",
		"protectDefaultBranch": false, "token": credentials.UserCredentialMarker("USER_OAUTH_TOKEN")})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.fake.PushTokens(); !reflect.DeepEqual(got, []string{userToken}) {
		t.Fatalf("the push used other credentials than alice's own token (%d pushes)", len(got))
	}
	if n := len(f.fake.TokenRequests()); n != appTokens {
		t.Fatalf("the push asked the App for %d installation tokens", n-appTokens)
	}
	if g := tree(t, f.clone(t, "acme", "mine", "main")); !reflect.DeepEqual(g, map[string]string{"index.html": "<h1>mine</h1>\n|x=false"}) {
		t.Fatalf("pushed %v", g)
	}
	if !strings.Contains(f.logs.String(), "user token of user:default/alice (requestUserCredentials USER_OAUTH_TOKEN)") {
		t.Fatalf("the broker did not log where the credential came from: %s", f.logs.String())
	}

	// Another task of alice's was never granted the token: refused, with
	// the secretsKey named; nothing pushed.
	other := alice
	other.TaskID = "task-2"
	ctx := step.WithEnv(context.Background(), step.Env{Run: other, StepID: "step-1", Workspace: f.ws})
	_, err = f.actions[ActionRepoPush](ctx, contract.ActionInput{StepID: "step-1", Input: map[string]any{"repoUrl": repo, "sourcePath": "site",
		"defaultBranch": "main", "protectDefaultBranch": false, "token": credentials.UserCredentialMarker("USER_OAUTH_TOKEN")}})
	if err == nil || !strings.Contains(err.Error(), "USER_OAUTH_TOKEN") {
		t.Fatalf("an ungranted task: %v", err)
	}
	f.seen = append(f.seen, err.Error())
	if len(f.fake.PushTokens()) != 1 {
		t.Fatal("an ungranted task pushed")
	}
	for _, s := range append(f.seen, f.logs.String()) {
		if strings.Contains(s, userToken) {
			t.Fatalf("the user's token leaked: %s", s)
		}
	}
	f.assertNoLeak(t)
}
