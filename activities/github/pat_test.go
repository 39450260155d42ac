package github

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/githubfake"
)

// TestPublishWithAPersonalAccessToken: without an App the host's token is
// used (and the log says it is one); the repository of a user account is
// created through POST /user/repos.
func TestPublishWithAPersonalAccessToken(t *testing.T) {
	requireGit(t)
	fake := githubfake.New(t, planted)
	pat := planted + "pat"
	fake.AddPAT(pat, "acme")
	cfg := Config{Hosts: []Host{{Host: "github.com", APIBaseURL: fake.APIURL(), GitURL: fake.GitURL(), Token: credentials.NewSecret(pat)}}}
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	broker := credentials.NewBroker(credentials.PolicyDecider{Policy: loadPolicy(t, teamPolicy)}, logger, NewAppMinter(cfg, nil, nil))
	acts, err := Actions(broker, cfg, Options{Logger: logger, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{fake: fake, cfg: cfg, broker: broker, actions: acts, logs: logs, ws: t.TempDir()}
	writeFiles(t, f.ws, workspaceFiles)
	out, err := f.run(f.ctx(false), t, ActionPublish, publishInput())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fake.Repos(), []string{"acme/payments"}) || len(fake.TokenRequests()) != 0 {
		t.Fatalf("repos %v, installation tokens %d", fake.Repos(), len(fake.TokenRequests()))
	}
	if !strings.Contains(strings.Join(out.Logs, "\n"), "personal access token") {
		t.Fatalf("the step log should say a personal access token was used: %v", out.Logs)
	}
	clone := f.clone(t, "acme", "payments", "main")
	if g, w := tree(t, clone), tree(t, f.ws); !reflect.DeepEqual(g, w) {
		t.Fatalf("pushed %v, want %v", g, w)
	}
	for _, s := range append(f.seen, logs.String()) {
		if strings.Contains(s, pat) {
			t.Fatalf("the PAT leaked: %s", s)
		}
	}
}
