package tasks

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// TestRequestUserCredentials: a template whose RepoUrlPicker asks for the
// user's own credentials (Backstage's requestUserCredentials shape) grants
// its task the creator's stored GitHub token for the secretsKey; the task's
// secret holds only a marker and the token is nowhere in the workflow's
// history. A creator who did not sign in with GitHub is refused, naming
// the secretsKey, and no task starts. Once the task failed, only its
// creator may retry it: anyone else allowed to retry (an admin) would make
// the creator's token act on their decision. (The stand-in workflow fails
// at its step "fails".)
func TestRequestUserCredentials(t *testing.T) {
	body := `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"own","namespace":"default"},` +
		`"spec":{"type":"service","owner":"group:default/platform","parameters":[{"properties":{"repoUrl":{"type":"string","ui:field":"RepoUrlPicker",` +
		`"ui:options":{"requestUserCredentials":{"secretsKey":"USER_OAUTH_TOKEN","additionalScopes":{"github":["repo"]}}}}}}],` +
		`"steps":[{"id":"fails","action":"debug:log","input":{"message":"hi"}}]}}`
	s := serviceOver(t, &testAuthorizer{}, nil, store.Entity{Ref: "template:default/own", Body: json.RawMessage(body), Hash: "own"})
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "creds.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := []byte("0123456789abcdef0123456789abcdef")
	keeper, err := secretbox.New(key, st, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ut, err := auth.NewUserTokens(st, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.d.Secrets, s.d.UserTokens = keeper, ut

	const token = "gho_octocats-own-token"
	octo := auth.Identity{Ref: "user:default/octocat", Ent: []string{"user:default/octocat"}}
	alice := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice"}}
	if err := ut.Save(t.Context(), octo.Ref, "github", credentials.NewSecret(token), []string{"read:user", "user:email", "repo"}); err != nil {
		t.Fatal(err)
	}

	_, _, err = s.Create(t.Context(), alice, CreateRequest{TemplateRef: "template:default/own", Values: map[string]any{"repoUrl": "github.com?owner=acme&repo=a"}})
	if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "USER_OAUTH_TOKEN") || !strings.Contains(err.Error(), "did not sign in with github") {
		t.Fatalf("alice, not signed in with GitHub: %v", err)
	}

	id, _, err := s.Create(t.Context(), octo, CreateRequest{TemplateRef: "template:default/own", Values: map[string]any{"repoUrl": "github.com?owner=acme&repo=a"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := keeper.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got["USER_OAUTH_TOKEN"] != credentials.UserCredentialMarker("USER_OAUTH_TOKEN") {
		t.Fatalf("the task's secret is %q, want the marker", got["USER_OAUTH_TOKEN"])
	}
	tok, _, err := ut.ForTask(t.Context(), id, "USER_OAUTH_TOKEN", octo.Ref)
	if err != nil || tok.Reveal() != token {
		t.Fatalf("the task was not granted octocat's token: %v", err)
	}
	// Nothing of the token in the workflow's history.
	it := s.d.Temporal.GetWorkflowHistory(t.Context(), id, "", false, 0)
	events := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		// The text form shows payload bytes as they are (JSON would
		// base64 them).
		text := ev.String()
		if strings.Contains(text, token) {
			t.Fatal("the user's token is in the workflow history")
		}
		// The scan reads payloads: the start event names the secret.
		if events == 1 && !strings.Contains(text, "USER_OAUTH_TOKEN") {
			t.Fatalf("the workflow's input does not name the secret: the scan reads nothing\n%s", text)
		}
	}
	if events == 0 {
		t.Fatal("no history read")
	}

	waitStatus(t, s, octo, id, StatusFailed)
	err = s.Retry(t.Context(), alice, id)
	if !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), "only user:default/octocat can retry it") ||
		!strings.Contains(err.Error(), "USER_OAUTH_TOKEN") || strings.Contains(err.Error(), token) {
		t.Fatalf("another user's retry of a task holding octocat's token: %v, want forbidden naming the owner", err)
	}
	if task, err := s.Get(t.Context(), octo, id); err != nil || task.State.Attempt != 1 {
		t.Fatalf("after the refused retry: %+v, %v; want the first attempt", task, err)
	}
	if err := s.Retry(t.Context(), octo, id); err != nil {
		t.Fatalf("the creator's retry: %v", err)
	}
}
