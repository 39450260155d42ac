package aws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/aws"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/testtools"
)

// recorder is the HTTP transport of the STS and S3 clients under test: it
// passes every request to MinIO and keeps what was sent, so a test can
// say what AssumeRole was asked (MinIO echoes neither the session name nor
// the tags) and that a refused or dry-run step sent nothing at all.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
}

type sent struct {
	method, path string
	// form is an STS call's form (Action=AssumeRole, RoleSessionName, …).
	form url.Values
	// answer is an STS call's response body: it holds the session's
	// secret key and token, which the test then looks for everywhere.
	answer string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s := sent{method: req.Method, path: req.URL.Path}
	sts := req.Method == http.MethodPost && req.URL.Path == "/" && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if sts && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		s.form, _ = url.ParseQuery(string(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && sts {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		s.answer = string(body)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, s)
	r.mu.Unlock()
	return resp, err
}

// sent returns what was sent so far.
func (r *recorder) sent() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.reqs...)
}

// assumeRoles are the AssumeRole calls sent so far.
func (r *recorder) assumeRoles() []sent {
	var out []sent
	for _, s := range r.sent() {
		if s.form.Get("Action") == "AssumeRole" {
			out = append(out, s)
		}
	}
	return out
}

var (
	secretKeyRE = regexp.MustCompile(`<SecretAccessKey>([^<]+)</SecretAccessKey>`)
	tokenRE     = regexp.MustCompile(`<SessionToken>([^<]+)</SessionToken>`)
)

// sessionSecrets are the secret keys and tokens of every session MinIO
// handed out.
func (r *recorder) sessionSecrets(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, s := range r.assumeRoles() {
		k, tok := secretKeyRE.FindStringSubmatch(s.answer), tokenRE.FindStringSubmatch(s.answer)
		if k == nil || tok == nil {
			t.Fatalf("an AssumeRole answer without credentials: %.300s", s.answer)
		}
		out = append(out, k[1], tok[1])
	}
	return out
}

// teamAPolicy lets team-a's members write under teams/team-a/ of the test
// bucket and create buckets named rigger-test-team-a*; it also lets them
// try rigger-private, on which the worker's identity has no right at all
// (so AWS, not the policy, refuses).
const teamAPolicy = `
permit (principal is Rigger::User, action == Rigger::Action::"scaffolder.action.execute", resource is Rigger::ScaffolderAction)
when { resource.integration == "aws" && principal.ent.contains("group:default/team-a") &&
       (resource.target like "arn:aws:s3:::rigger-test/teams/team-a/*" || resource.target like "arn:aws:s3:::rigger-test-team-a*" ||
        resource.target like "arn:aws:s3:::rigger-private/*") };
`

func loadPolicy(t *testing.T, text string) *permission.Policy {
	t.Helper()
	p, err := permission.Parse("test.cedar", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rig is one MinIO with the AWS integration configured against it.
type rig struct {
	minio   testtools.MinIO
	rec     *recorder
	cfg     aws.Config
	broker  *credentials.Broker
	actions map[string]activities.ActionFunc
	logs    *bytes.Buffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	m := testtools.StartMinIO(t)
	rec := &recorder{}
	cfg := aws.Config{
		Region: m.Region, Endpoint: m.Endpoint,
		// MinIO ignores RoleArn for a user's AssumeRole (INTEGRATIONS.md
		// §1.6), and the Tags too; AWS needs both, so they are sent anyway.
		RoleARN:     "arn:aws:iam::123456789012:role/rigger-scaffolder",
		AccessKeyID: m.AccessKeyID, SecretAccessKey: credentials.NewSecret(m.SecretAccessKey),
		HTTPClient: &http.Client{Transport: rec, Timeout: 30 * time.Second},
	}
	minter, err := aws.NewSTSMinter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	b := credentials.NewBroker(credentials.PolicyDecider{Policy: loadPolicy(t, teamAPolicy)}, slog.New(slog.NewJSONHandler(logs, nil)), minter)
	return &rig{minio: m, rec: rec, cfg: cfg, broker: b, actions: aws.Actions(b, cfg), logs: logs}
}

// root is an S3 client with MinIO's root credentials, to look at what a
// step wrote.
func (r *rig) root() *s3.Client { return r.minio.S3(r.minio.RootUser, r.minio.RootPassword, "") }

func (r *rig) object(t *testing.T, key string) (string, bool) {
	t.Helper()
	out, err := r.root().GetObject(context.Background(), &s3.GetObjectInput{Bucket: sdkaws.String(r.minio.Bucket), Key: sdkaws.String(key)})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "NoSuchKey" {
		return "", false
	}
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

const aliceTask = "0f9e8d7c-6b5a-4938-2716-abcdef012345"

var alice = credentials.Run{TaskID: aliceTask, TemplateRef: "template:default/s3-publish", UserRef: "user:default/alice",
	Ent: []string{"user:default/alice", "group:default/team-a"}}

// stepCtx is the context CheckedIntegration gives an action.
func stepCtx(run credentials.Run, workspace string, dryRun bool) context.Context {
	return step.WithEnv(context.Background(), step.Env{Run: run, StepID: "publish", Workspace: workspace, DryRun: dryRun})
}

func run(ctx context.Context, r *rig, action string, input map[string]any) (contract.ActionOutput, error) {
	return r.actions[action](ctx, contract.ActionInput{TaskID: aliceTask, StepID: "publish", Input: input})
}

// everything is every text a run leaves behind: outputs, log lines,
// errors and the broker's log.
type everything struct{ texts []string }

func (e *everything) add(out contract.ActionOutput, err error) {
	b, _ := json.Marshal(out)
	e.texts = append(e.texts, string(b))
	if err != nil {
		e.texts = append(e.texts, err.Error(), fmt.Sprintf("%+v", err))
	}
}

// TestLeastPrivilegeAgainstMinIO is issue 18's AWS test against a real
// MinIO: alice's run writes under teams/team-a/, its session cannot write
// teams/team-b/ (nor another key), a step aiming at team-b is refused by
// the policy before any AWS call, the session lasts at most 15 minutes,
// AssumeRole carried user and task, and no session secret shows anywhere.
func TestLeastPrivilegeAgainstMinIO(t *testing.T) {
	r := newRig(t)
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "out", "desc.json"), []byte(`{"name":"payments"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := stepCtx(alice, ws, false)
	var seen everything

	// 1. alice's run writes under team-a, from the body and from a file.
	out, err := run(ctx, r, aws.ActionPutObject, map[string]any{"bucket": r.minio.Bucket, "key": "teams/team-a/svc.txt", "body": "hello from alice", "contentType": "text/plain"})
	seen.add(out, err)
	if err != nil {
		t.Fatalf("put teams/team-a/svc.txt: %v", err)
	}
	if got, _ := r.object(t, "teams/team-a/svc.txt"); got != "hello from alice" {
		t.Fatalf("teams/team-a/svc.txt holds %q", got)
	}
	if out.Output["etag"] == "" || out.Output["url"] != r.minio.Endpoint+"/rigger-test/teams/team-a/svc.txt" || out.Output["key"] != "teams/team-a/svc.txt" {
		t.Fatalf("output %v", out.Output)
	}
	out, err = run(ctx, r, aws.ActionPutObject, map[string]any{"bucket": r.minio.Bucket, "key": "teams/team-a/desc.json", "path": "out/desc.json"})
	seen.add(out, err)
	if err != nil {
		t.Fatalf("put from a workspace file: %v", err)
	}
	if got, _ := r.object(t, "teams/team-a/desc.json"); got != `{"name":"payments"}` {
		t.Fatalf("teams/team-a/desc.json holds %q", got)
	}

	// 2. The session itself: minted as the action mints it, then used
	// directly, so MinIO (not our code) is what refuses team-b.
	target := aws.ObjectARN(r.minio.Bucket, "teams/team-a/direct.txt")
	before := time.Now()
	cred, err := r.broker.Get(context.Background(), credentials.Need{Integration: "aws", Action: aws.ActionPutObject, Target: target,
		SessionPolicy: aws.SessionPolicy(target, "s3:PutObject"), Run: alice})
	if err != nil {
		t.Fatal(err)
	}
	session := r.minio.S3(cred.AccessKeyID, cred.SecretAccessKey.Reveal(), cred.SessionToken.Reveal())
	put := func(c *s3.Client, key string) error {
		_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: sdkaws.String(r.minio.Bucket), Key: sdkaws.String(key), Body: strings.NewReader("x")})
		return err
	}
	if err := put(session, "teams/team-a/direct.txt"); err != nil {
		t.Fatalf("the session cannot write what it was minted for: %v", err)
	}
	for _, key := range []string{"teams/team-b/direct.txt", "teams/team-a/other.txt"} {
		err := put(session, key)
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
			t.Errorf("the session wrote %s: want AccessDenied, got %v", key, err)
		}
		seen.texts = append(seen.texts, fmt.Sprint(err))
	}
	// The worker's own identity may write team-b: the denial above is the
	// session policy's doing, not the user policy's.
	if err := put(r.minio.S3(r.minio.AccessKeyID, r.minio.SecretAccessKey, ""), "teams/team-b/by-worker.txt"); err != nil {
		t.Fatalf("the worker user cannot write team-b, so the test proves nothing: %v", err)
	}
	if _, ok := r.object(t, "teams/team-b/direct.txt"); ok {
		t.Fatal("teams/team-b/direct.txt exists")
	}

	// 3. Duration: at most 15 minutes ahead. MinIO enforces the expiry at
	// exactly T+900 s (INTEGRATIONS.md §1.5); a test cannot wait for
	// that, so it checks what was asked (DurationSeconds=900) and what the
	// server answered.
	if lim := before.Add(aws.MaxSessionDuration + 5*time.Second); cred.Expires.After(lim) || cred.Expires.Before(before.Add(aws.MaxSessionDuration-time.Minute)) {
		t.Errorf("session expires %s, want about 15 min after %s", cred.Expires, before)
	}

	// 4. What AssumeRole was asked: the session name carries user and
	// task (MinIO echoes neither, so the recorded request is the proof).
	calls := r.rec.assumeRoles()
	if len(calls) != 3 {
		t.Fatalf("%d AssumeRole calls so far, want 3 (two steps and one direct)", len(calls))
	}
	wantName := "rigger-alice-" + aliceTask[:20]
	for _, c := range calls {
		f := c.form
		if f.Get("RoleSessionName") != wantName || f.Get("DurationSeconds") != "900" || f.Get("RoleArn") != r.cfg.RoleARN {
			t.Errorf("AssumeRole asked with name %q, duration %q, role %q", f.Get("RoleSessionName"), f.Get("DurationSeconds"), f.Get("RoleArn"))
		}
		tags := map[string]string{}
		for i := 1; f.Get(fmt.Sprintf("Tags.member.%d.Key", i)) != ""; i++ {
			tags[f.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = f.Get(fmt.Sprintf("Tags.member.%d.Value", i))
		}
		if tags["user"] != "user:default/alice" || tags["task"] != aliceTask || tags["template"] != "template:default/s3-publish" {
			t.Errorf("session tags %v", tags)
		}
	}
	if want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::rigger-test/teams/team-a/svc.txt"]}]}`; calls[0].form.Get("Policy") != want {
		t.Errorf("first step's session policy %s, want %s", calls[0].form.Get("Policy"), want)
	}
	if cred.Source != "sts session "+wantName {
		t.Errorf("source %q", cred.Source)
	}

	// 5. A step aiming at team-b: the policy refuses it before any AWS
	// call is made.
	n := len(r.rec.sent())
	out, err = run(ctx, r, aws.ActionPutObject, map[string]any{"bucket": r.minio.Bucket, "key": "teams/team-b/svc.txt", "body": "sneaky"})
	seen.add(out, err)
	var app *temporal.ApplicationError
	if !errors.Is(err, errs.ErrForbidden) || !errors.As(err, &app) || !app.NonRetryable() || app.Type() != aws.ForbiddenType {
		t.Fatalf("team-b step: want a non-retryable forbidden error, got %v", err)
	}
	if !strings.Contains(err.Error(), "arn:aws:s3:::rigger-test/teams/team-b/svc.txt") || !strings.Contains(err.Error(), "user:default/alice") {
		t.Errorf("the refusal should name user and target: %v", err)
	}
	if got := r.rec.sent()[n:]; len(got) != 0 {
		t.Fatalf("a refused step sent %d requests", len(got))
	}
	if _, ok := r.object(t, "teams/team-b/svc.txt"); ok {
		t.Fatal("teams/team-b/svc.txt exists")
	}

	// 6. A step the policy allows but AWS refuses fails for good, and
	// says why without any part of its session.
	out, err = run(ctx, r, aws.ActionPutObject, map[string]any{"bucket": "rigger-private", "key": "x.txt", "body": "x"})
	seen.add(out, err)
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != aws.AWSRefusedType || !strings.Contains(err.Error(), "put s3://rigger-private/x.txt") {
		t.Fatalf("a write AWS refuses: want a non-retryable %s error, got %v", aws.AWSRefusedType, err)
	}
	t.Logf("as the step reports it: %v", err)

	// 7. No session secret, nor the worker's own, anywhere.
	secrets := append(r.rec.sessionSecrets(t), r.minio.SecretAccessKey)
	if len(secrets) != 9 {
		t.Fatalf("%d secrets collected", len(secrets))
	}
	seen.texts = append(seen.texts, r.logs.String(), fmt.Sprintf("%v %+v %#v", cred, cred, cred))
	for _, text := range seen.texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret (%d bytes) shows in %.200q", len(s), credentials.Scrub(text, credentials.NewSecret(s)))
			}
		}
	}
	if !strings.Contains(r.logs.String(), "credential minted") || !strings.Contains(r.logs.String(), wantName) {
		t.Errorf("broker log: %s", r.logs.String())
	}
}

// TestCreateBucketAgainstMinIO: create-bucket creates, a second run is a
// success that creates nothing, and a bucket outside the policy is refused
// before any call.
func TestCreateBucketAgainstMinIO(t *testing.T) {
	r := newRig(t)
	ctx := stepCtx(alice, t.TempDir(), false)
	for i, wantCreated := range []bool{true, false} {
		out, err := run(ctx, r, aws.ActionCreateBucket, map[string]any{"bucket": "rigger-test-team-a-artifacts"})
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if out.Output["created"] != wantCreated || out.Output["arn"] != "arn:aws:s3:::rigger-test-team-a-artifacts" {
			t.Fatalf("run %d: output %v", i+1, out.Output)
		}
	}
	if _, err := r.root().HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: sdkaws.String("rigger-test-team-a-artifacts")}); err != nil {
		t.Fatalf("the bucket is not there: %v", err)
	}
	if p := r.rec.assumeRoles()[0].form.Get("Policy"); !strings.Contains(p, `"Action":["s3:CreateBucket"],"Resource":["arn:aws:s3:::rigger-test-team-a-artifacts"]`) {
		t.Errorf("session policy %s", p)
	}
	n := len(r.rec.sent())
	if _, err := run(ctx, r, aws.ActionCreateBucket, map[string]any{"bucket": "rigger-test-team-b"}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("team-b bucket: %v", err)
	}
	if len(r.rec.sent()) != n {
		t.Fatal("a refused step sent requests")
	}
}

// TestDryRunAndEscapesSendNothing: a dry run reports and sends nothing; a
// workspace path that leaves the workspace is refused before any call.
func TestDryRunAndEscapesSendNothing(t *testing.T) {
	r := newRig(t)
	ws := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(ws, "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "ok.txt"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	dry := stepCtx(alice, ws, true)
	out, err := run(dry, r, aws.ActionPutObject, map[string]any{"bucket": r.minio.Bucket, "key": "teams/team-a/dry.txt", "path": "ok.txt"})
	if err != nil || len(out.Logs) != 1 || !strings.Contains(out.Logs[0], "dry run: would put 5 bytes") {
		t.Fatalf("dry put: %v %v", out, err)
	}
	out, err = run(dry, r, aws.ActionCreateBucket, map[string]any{"bucket": "rigger-test-team-a-dry"})
	if err != nil || out.Output["created"] != false || !strings.Contains(strings.Join(out.Logs, "\n"), "dry run: would create bucket rigger-test-team-a-dry") {
		t.Fatalf("dry create: %v %v", out, err)
	}
	real := stepCtx(alice, ws, false)
	for _, path := range []string{"../secret.txt", outside, "link", "up/secret.txt", "missing.txt", "."} {
		_, err := run(real, r, aws.ActionPutObject, map[string]any{"bucket": r.minio.Bucket, "key": "teams/team-a/esc.txt", "path": path})
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != aws.InvalidInputType || !app.NonRetryable() {
			t.Errorf("path %q: want a non-retryable invalid input, got %v", path, err)
		}
	}
	if got := r.rec.sent(); len(got) != 0 {
		t.Fatalf("dry runs and refused paths sent %d requests", len(got))
	}
	if _, ok := r.object(t, "teams/team-a/dry.txt"); ok {
		t.Fatal("the dry run wrote")
	}
	if _, err := r.root().HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: sdkaws.String("rigger-test-team-a-dry")}); err == nil {
		t.Fatal("the dry run created a bucket")
	}
}

func contractInput(in map[string]any) contract.ActionInput {
	return contract.ActionInput{TaskID: aliceTask, StepID: "publish", Input: in}
}
