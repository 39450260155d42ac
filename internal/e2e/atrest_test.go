package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/githubfake"
	"github.com/riggerdev/rigger/internal/payloadcodec"
	"github.com/riggerdev/rigger/internal/testtools"
)

// atRestTemplate publishes a repository with a GitHub installation token,
// writes an object with an AWS session and logs a task secret; its
// output is the object's ETag, which only the put step's output holds.
const atRestTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: at-rest}
spec:
  owner: group:default/platform
  type: service
  parameters:
    - properties:
        bucket: {type: string}
        body: {type: string}
  steps:
    - id: files
      name: Files
      action: fs:write
      input: {path: svc/README.md, content: "# svc\n"}
    - id: publish
      name: Publish
      action: publish:github
      input: {repoUrl: "github.com?owner=acme&repo=atrest", sourcePath: svc, protectDefaultBranch: false}
    - id: put
      name: Write the object
      action: aws:s3:put-object
      input: {bucket: "${{ parameters.bucket }}", key: teams/platform/at-rest.txt, body: "${{ parameters.body }}", contentType: text/plain}
    - id: use-secret
      name: Use the task secret
      action: debug:log
      input: {message: "calling the API with ${{ secrets.apiKey }}"}
  output:
    text:
      - title: ETag
        content: "etag ${{ steps.put.output.etag }}"
`

// stsRecorder is a reverse proxy in front of a real MinIO that keeps the
// credentials of every AssumeRole answer it relays: the AWS sessions the
// broker minted, which the test must then find nowhere.
type stsRecorder struct {
	mu       sync.Mutex
	sessions []string // secret access keys and session tokens
}

var stsCredRE = regexp.MustCompile(`<(SecretAccessKey|SessionToken)>([^<]+)</`)

func (r *stsRecorder) start(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		// The Host header stays the proxy's: requests are signed for it.
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host },
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if bytes.Contains(body, []byte("AssumeRoleResponse")) {
				r.mu.Lock()
				for _, m := range stsCredRE.FindAllSubmatch(body, -1) {
					r.sessions = append(r.sessions, string(m[2]))
				}
				r.mu.Unlock()
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (r *stsRecorder) secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sessions...)
}

// secretForms are the forms of a secret searched for: itself, and its
// standard and URL base64 at each of the three byte alignments it can
// have inside a longer encoded text (only the characters that depend on
// its bytes alone).
func secretForms(secret string) []string {
	forms := []string{secret}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := range 3 {
			b64 := enc.EncodeToString(append(make([]byte, shift), secret...))
			first := 4 * ((shift + 2) / 3)          // first group made of the secret's bytes only
			last := 4 * ((shift + len(secret)) / 3) // end of the last full group
			if last-first >= 8 {
				forms = append(forms, b64[first:last])
			}
		}
	}
	return forms
}

// TestNoSecretsAtRest: one run under rigger dev uses a GitHub installation
// token (the GitHub fake, real git http-backend), an AWS session (real
// MinIO STS, through a recording proxy) and a task secret. Afterwards
// none of them, nor their base64 at any alignment, is in any file of the
// data directory (Temporal's and rigger's SQLite databases with their
// WAL files, after a clean shutdown), the process's logs, the task's
// events or its SSE stream. With the payload codec rigger dev runs with,
// a step output (the object's ETag) is returned by the API but is not in
// Temporal's database in clear text.
func TestNoSecretsAtRest(t *testing.T) {
	needBinary(t)
	// The fake mints tokens with this prefix and random hex after it: a
	// token anywhere means the prefix there.
	const tokenPrefix = "ghs_AtRestPlantedToken7c41e0_"
	const taskSecret = "tsk-AtRest-secret-5d0b2f9e81"
	fake := githubfake.New(t, tokenPrefix)
	key := fake.AddApp(t, 7)
	fake.AddInstallation(7, "acme", "Organization", nil, nil)
	m := testtools.StartMinIO(t)
	var sts stsRecorder
	endpoint := sts.start(t, m.Endpoint)

	dir := t.TempDir()
	cfg := templateConfig(t, dir, atRestTemplate, "integrations:\n"+githubAppYAML(fake, 7, key)+awsYAML(m, endpoint))
	p := startDevOn(t, dir, cfg, freePorts(t))
	waitTotal(t, p.api, "kind=template", 1)

	body := "no secrets at rest " + time.Now().Format(time.RFC3339Nano)
	sum := md5.Sum([]byte(body))
	etag := hex.EncodeToString(sum[:])
	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/at-rest",
		"values": map[string]any{"bucket": m.Bucket, "body": body}, "secrets": map[string]any{"apiKey": taskSecret}}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
		t.Fatalf("task: %+v\n%s", tr, eventText(t, p.api, created.ID))
	}

	// The run did use each secret: a token was minted for the push, a
	// session for the object, and the secret was logged (redacted).
	if repos := fake.Repos(); len(repos) != 1 || repos[0] != "acme/atrest" || fake.GitPushes() == 0 {
		t.Fatalf("repositories %v, pushes %d: the run used no GitHub token", repos, fake.GitPushes())
	}
	sessions := sts.secrets()
	if len(sessions) < 2 {
		t.Fatalf("the recording proxy saw %d session credentials: the run used no AWS session", len(sessions))
	}
	events := getRaw(t, p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/events")
	if !strings.Contains(events, "calling the API with ***") {
		t.Fatalf("the task secret was not used (and redacted) by its step:\n%s", events)
	}
	if out := fmt.Sprint(taskOutput(t, p.api, created.ID)); !strings.Contains(out, "etag "+etag) {
		t.Fatalf("the API does not return the step output (ETag %s): %s", etag, out)
	}

	stream := eventStream(t, p.api, created.ID)
	if !strings.Contains(stream, "calling the API with") {
		t.Fatalf("the event stream lacks the step's log:\n%s", stream)
	}

	// A clean shutdown, so that the databases hold everything they will.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 60*time.Second)

	secrets := map[string]string{"the GitHub token": tokenPrefix, "the task secret": taskSecret, "the worker's AWS key": m.SecretAccessKey}
	for i, s := range sessions {
		secrets[fmt.Sprintf("AWS session credential %d", i)] = s
	}
	check := func(where, text string) {
		t.Helper()
		for what, s := range secrets {
			for _, form := range secretForms(s) {
				if strings.Contains(text, form) {
					t.Errorf("%s holds %s (as %s)", where, what, map[bool]string{true: "itself", false: "base64"}[form == s])
					break
				}
			}
		}
	}
	check("rigger's stdout", p.stdout.String())
	check("rigger's stderr", p.stderr.String())
	check("the task's events", events)
	check("the SSE stream", stream)
	scanned, temporalDB := scanDataDir(t, dir, check)
	if !strings.Contains(temporalDB, created.ID) {
		t.Fatalf("the task id is not in Temporal's database files (%d files scanned): the scan proves nothing", scanned)
	}
	// Payloads are stored, encrypted, and the step output is not legible.
	if !strings.Contains(temporalDB, payloadcodec.Encoding) {
		t.Errorf("no %s payload in Temporal's database files: the codec is off, or the scan misses the payloads", payloadcodec.Encoding)
	}
	if strings.Contains(temporalDB, etag) {
		t.Errorf("Temporal's database holds the step output %s in clear text: payloads are not encrypted", etag)
	}
	t.Logf("scanned %d files of the data dir, the logs, the events and the SSE stream for %d secrets in %d forms each", scanned, len(secrets), len(secretForms(taskSecret)))
}

// TestSecretForms: each form is found in the base64 of any text holding
// the secret, whatever the secret's offset in it.
func TestSecretForms(t *testing.T) {
	const secret = "ghs_AtRestPlanted"
	for pre := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			text := enc.EncodeToString([]byte(strings.Repeat("x", pre) + secret + "?>~tail"))
			found := false
			for _, f := range secretForms(secret)[1:] {
				found = found || strings.Contains(text, f)
			}
			if !found {
				t.Errorf("offset %d: no form of the secret in %s", pre, text)
			}
		}
	}
}

// eventStream is the SSE stream of a finished task, read for up to 5 s.
func eventStream(t *testing.T, api, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", api+"/api/scaffolder/v2/tasks/"+id+"/eventstream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := io.ReadAll(resp.Body) // ends with the stream or the timeout
	resp.Body.Close()
	return string(stream)
}

// getRaw returns the body of a GET.
func getRaw(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// scanDataDir hands check every regular file below dir/data (named
// relative to dir), and returns how many it read and the content of
// Temporal's database files (temporal.db, temporal-visibility.db and their
// WALs).
func scanDataDir(t *testing.T, dir string, check func(where, text string)) (scanned int, temporalDB string) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		rel, _ := filepath.Rel(dir, path)
		check(rel, string(data))
		if isTemporalDB(filepath.Base(path)) {
			temporalDB += string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return scanned, temporalDB
}

// isTemporalDB says whether a data dir file is one of the embedded Temporal
// server's databases (or a WAL or journal of one).
func isTemporalDB(base string) bool {
	return strings.HasPrefix(base, "temporal.db") || strings.HasPrefix(base, "temporal-visibility.db")
}
