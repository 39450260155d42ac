package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth/oidctest"
)

// mcpTSClient prepares the official MCP TypeScript SDK's client script
// (pinned in testdata/mcp-ts-client/package.json and its lockfile) and
// returns its folder.
func mcpTSClient(t *testing.T) string {
	t.Helper()
	_, dir := nodePackage(t, "MCP TypeScript SDK", "testdata/mcp-ts-client", "@modelcontextprotocol/sdk")
	return dir
}

// runMCPTSClient runs client.mjs in mode against base and answers its
// requests ("AUTHORIZE <url>", "APPROVAL <task> <request>") with answer;
// it fails the test unless the script passes every step.
func runMCPTSClient(t *testing.T, dir, mode, base string, env []string, answer func(kind string, args []string) string) {
	t.Helper()
	cmd := exec.Command("node", "client.mjs", mode, base)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := time.AfterFunc(4*time.Minute, func() { _ = cmd.Process.Kill() })
	defer done.Stop()
	var log []string
	passed := false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		log = append(log, line)
		fields := strings.Fields(line)
		switch {
		case len(fields) > 1 && (fields[0] == "AUTHORIZE" || fields[0] == "APPROVAL"):
			if _, err := io.WriteString(stdin, answer(fields[0], fields[1:])+"\n"); err != nil {
				t.Fatalf("answer the script: %v", err)
			}
		case line == "mcp-ts: all steps passed":
			passed = true
		}
	}
	err = cmd.Wait()
	if err != nil || !passed {
		t.Fatalf("the TypeScript SDK client (%s) failed: %v\nstdout:\n%s\nstderr:\n%s", mode, err, strings.Join(log, "\n"), stderr.String())
	}
	t.Logf("TypeScript SDK client (%s):\n%s", mode, strings.Join(log, "\n"))
}

var consentField = regexp.MustCompile(`name="(request|csrf)" value="([^"]+)"`)

// oauthBrowser is a person's browser on rigger's consent page: it keeps
// the session cookie and follows no redirect by itself.
type oauthBrowser struct {
	t    *testing.T
	base string
	op   *oidctest.OP
	c    *http.Client
}

func (b *oauthBrowser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// authorize opens authURL, signs user in at the OpenID provider when the
// browser has no session, clicks "allow" on the consent page and returns
// where rigger sends the browser back to the client (its callback).
func (b *oauthBrowser) authorize(authURL, user string) string {
	b.t.Helper()
	for range 2 {
		req, _ := http.NewRequest("GET", authURL, nil)
		resp, page := b.do(req)
		if resp.StatusCode != http.StatusOK {
			b.t.Fatalf("authorize: %d %s", resp.StatusCode, page)
		}
		form := url.Values{"decision": {"allow"}}
		for _, m := range consentField.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], m[2])
		}
		if form.Get("request") == "" || form.Get("csrf") == "" {
			b.t.Fatalf("no consent form in %.600s", page)
		}
		// A person reads the page before clicking: rigger refuses an Allow
		// that comes sooner than a second after the page was shown.
		time.Sleep(1100 * time.Millisecond)
		req, _ = http.NewRequest("POST", b.base+"/api/auth/oauth/consent", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
		resp, page = b.do(req)
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusSeeOther || err != nil {
			b.t.Fatalf("consent: %d %s", resp.StatusCode, page)
		}
		if !strings.HasPrefix(loc.Path, "/api/auth/oidc/start") {
			return loc.String()
		}
		// No session yet: sign in at the provider and come back.
		req, _ = http.NewRequest("GET", loc.String(), nil)
		resp, _ = b.do(req)
		opURL, err := resp.Location()
		if err != nil {
			b.t.Fatalf("sign-in start: %d, no redirect to the provider", resp.StatusCode)
		}
		cb := b.op.SignIn(b.t, opURL.String(), user, oidctest.Password(user))
		req, _ = http.NewRequest("GET", cb.String(), nil)
		resp, page = b.do(req)
		back, _ := resp.Location()
		if resp.StatusCode != http.StatusFound || back == nil || !strings.HasPrefix(back.Path, "/oauth/authorize") {
			b.t.Fatalf("sign-in callback: %d to %v: %s", resp.StatusCode, back, page)
		}
		authURL = back.String()
	}
	b.t.Fatal("the consent page asked to sign in twice")
	return ""
}

// TestMCPTypeScriptSDKOAuth: the official MCP TypeScript SDK's client
// (StreamableHTTPClientTransport with an OAuth authProvider) against a
// real rigger server (and its worker) whose sign-in is a real OpenID provider: the 401,
// discovery, dynamic registration, PKCE (S256), the person signs in and
// consents (this test, as the browser), finishAuth; tools listed with
// their schemas and annotations, catalog_query and catalog_get as alice,
// a dry run; after the short access token expires the SDK refreshes (a
// rotated refresh token); once the grant is revoked its access token is
// refused and the SDK is sent back to the person's consent.
func TestMCPTypeScriptSDKOAuth(t *testing.T) {
	needBinary(t)
	dir := mcpTSClient(t)
	_, temporal := startTemporalOnly(t, t.TempDir())
	api := freePorts(t).api
	base := fmt.Sprintf("http://127.0.0.1:%d", api)
	op := oidctest.Start(t, base+"/api/auth/oidc/handler/frame")
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cfg := filepath.Join(work, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`server: {dataDir: %s, baseUrl: %s}
catalog:
  locations:
    - {type: file, target: %s/catalog/org.yaml}
    - {type: file, target: %s/templates/catalog-entity/template.yaml}
scaffolder:
  templates: []
  runSigningKey: %s
  secretKey: %s
auth:
  session: {secret: "${SESSION_SECRET}"}
  serviceTokens: [{name: reader, token: "${READER_TOKEN}", scopes: [catalog.read]}]
  providers:
    oidc:
      issuerUrl: %s
      clientId: web
      clientSecret: "${OIDC_SECRET}"
      signIn: {resolvers: [{resolver: usernameMatchingUserEntityName}]}
mcp: {tokenTTL: 1s}
`, filepath.Join(work, "data"), base, examples, examples, testRunSigningKey, testRunSigningKey, op.Issuer)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("RIGGER_CONFIG="+cfg, "RIGGER_TEMPORAL_ADDRESS="+temporal,
		"SESSION_SECRET=a-session-secret-of-at-least-32-characters", "OIDC_SECRET="+oidctest.ClientSecret, "READER_TOKEN="+readerToken)
	// The worker reads the catalog's locations (its refresh workflow).
	w := startBin(t, riggerBin, work, env, "worker", "--queue", "rigger-default")
	w.waitStdout(t, "Rigger worker is ready", 60*time.Second)
	s := startBin(t, riggerBin, work, env, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", api))
	s.api = base
	s.waitReady(t, 60*time.Second)
	// The catalog's locations are read in the background: alice (whom
	// sign-in resolves by name) and the template first.
	deadline := time.Now().Add(60 * time.Second)
	for doJSONAs(t, readerToken, "GET", base+"/api/catalog/entities/by-name/user/default/alice", nil, nil) != http.StatusOK ||
		doJSONAs(t, readerToken, "GET", base+"/api/catalog/entities/by-name/template/default/catalog-entity", nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("alice and the template never reached the catalog")
		}
		time.Sleep(100 * time.Millisecond)
	}

	jar, _ := cookiejar.New(nil)
	b := &oauthBrowser{t: t, base: base, op: op, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	authorized := 0
	// The access token lives 1 s, but rigger accepts it 30 s past its
	// expiry (clock skew between replicas): the script waits past both.
	runMCPTSClient(t, dir, "server", base, []string{"MCP_TS_TOKEN_WAIT_MS=32000"}, func(kind string, args []string) string {
		if kind != "AUTHORIZE" {
			t.Fatalf("unexpected request %s %v", kind, args)
		}
		authorized++
		return b.authorize(args[0], oidctest.Alice)
	})
	if authorized != 1 {
		t.Fatalf("the person was asked %d times, want once (the revoked grant must not be renewed silently)", authorized)
	}
}

// TestMCPTypeScriptSDKAgentRun: the TypeScript SDK's client as rigger
// dev's guest: a dry run, then a run that stops at the approval gate
// before its step with outside effects until a person approves through
// the REST API, then completes.
func TestMCPTypeScriptSDKAgentRun(t *testing.T) {
	needBinary(t)
	dir := mcpTSClient(t)
	examples, err := filepath.Abs("../../examples/templates")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := startDevWithConfig(t, fmt.Sprintf("scaffolder:\n  templates: [%s/catalog-entity/template.yaml]\nauth: {devGuestGroups: [group:default/platform]}\nmcp: {allowWrite: true}\n", examples))
	waitTotal(t, p.api, "kind=template", 1)
	approved := false
	runMCPTSClient(t, dir, "dev", p.api, nil, func(kind string, args []string) string {
		if kind != "APPROVAL" || len(args) != 2 {
			t.Fatalf("unexpected request %s %v", kind, args)
		}
		var rest struct {
			Channel  string
			Approval struct{ CanDecide bool }
		}
		if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+args[0], nil, &rest); code != http.StatusOK || rest.Channel != "mcp" || !rest.Approval.CanDecide {
			t.Fatalf("REST task: %d %+v", code, rest)
		}
		var decided map[string]any
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+args[0]+"/approve", map[string]any{"requestId": args[1], "comment": "fine"}, &decided); code != http.StatusOK {
			t.Fatalf("approve: %d %v", code, decided)
		}
		approved = true
		return "approved"
	})
	if !approved {
		t.Fatal("the run never asked for the person's approval")
	}
}
