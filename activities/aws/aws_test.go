package aws_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/aws"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// awsSessionName is AWS's RoleSessionName rule.
var awsSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func TestSessionName(t *testing.T) {
	tests := []struct {
		user, task, want string
	}{
		{"user:default/alice", "0f9e8d7c-6b5a-4938-2716-abcdef012345", "rigger-alice-0f9e8d7c-6b5a-4938-2"},
		{"service:deploy-bot", "t1", "rigger-deploy-bot-t1"},
		{"user:default/jürgen o'neil", "t/2 x", "rigger-j-rgen-o-neil-t-2-x"},
		{"user:default/" + strings.Repeat("a", 80), "0123456789abcdefghijklmn", "rigger-" + strings.Repeat("a", 36) + "-0123456789abcdefghij"},
	}
	for _, tt := range tests {
		got := aws.SessionName(credentials.Run{UserRef: tt.user, TaskID: tt.task})
		if got != tt.want {
			t.Errorf("SessionName(%q, %q) = %q, want %q", tt.user, tt.task, got, tt.want)
		}
		if !awsSessionName.MatchString(got) {
			t.Errorf("SessionName(%q, %q) = %q breaks AWS's rule", tt.user, tt.task, got)
		}
	}
}

func TestSessionTags(t *testing.T) {
	tags := aws.SessionTags(credentials.Run{UserRef: "user:default/alice", TaskID: "t1", TemplateRef: "template:default/a&b<c>"})
	var got []string
	for _, tg := range tags {
		got = append(got, *tg.Key+"="+*tg.Value)
	}
	if want := []string{"user=user:default/alice", "task=t1", "template=template:default/a_b_c_"}; !slices.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	if n := len(aws.SessionTags(credentials.Run{UserRef: "u", TaskID: "t"})); n != 2 {
		t.Errorf("an empty template gave %d tags, want 2", n)
	}
	if v := aws.TagValue(strings.Repeat("x", 300)); len(v) != 256 {
		t.Errorf("tag value of %d characters", len(v))
	}
}

func TestSessionPolicyIsRequiredAndBounded(t *testing.T) {
	long := aws.SessionPolicy("arn:aws:s3:::b/"+strings.Repeat("k", 2100), "s3:PutObject")
	for _, tc := range []struct{ policy, want string }{
		{"", "needs a session policy"},
		{"  ", "needs a session policy"},
		{long, "characters; STS takes at most 2048"},
		{`{"Version":`, "not valid JSON"},
	} {
		err := aws.CheckSessionPolicy(tc.policy)
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("policy %.40q: %v, want %q", tc.policy, err, tc.want)
		}
	}
	if err := aws.CheckSessionPolicy(aws.SessionPolicy("arn:aws:s3:::b/k", "s3:PutObject")); err != nil {
		t.Fatal(err)
	}
	// The minter refuses before any call: the endpoint is closed.
	m, err := aws.NewSTSMinter(aws.Config{Endpoint: "http://127.0.0.1:1", RoleARN: "arn:aws:iam::1:role/r", AccessKeyID: "AKIDEXAMPLE",
		SecretAccessKey: credentials.NewSecret("base-secret-value")})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", long} {
		_, err := m.Mint(context.Background(), credentials.Need{Integration: "aws", Action: "aws:s3:put-object", Target: "arn:aws:s3:::b/k", SessionPolicy: p,
			Run: credentials.Run{TaskID: "t", UserRef: "user:default/alice"}})
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("policy of %d characters: %v", len(p), err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := aws.Config{RoleARN: "arn:aws:iam::1:role/r", AccessKeyID: "AKID", SecretAccessKey: credentials.NewSecret("s")}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*aws.Config)
		want string
	}{
		{"no role", func(c *aws.Config) { c.RoleARN = "" }, "roleArn is required"},
		{"key without secret", func(c *aws.Config) { c.SecretAccessKey = credentials.Secret{} }, "go together"},
		{"an hour", func(c *aws.Config) { c.SessionDuration = time.Hour }, "sessionDuration 1h0m0s"},
		{"five minutes", func(c *aws.Config) { c.SessionDuration = 5 * time.Minute }, "STS minimum"},
		{"bad endpoint", func(c *aws.Config) { c.Endpoint = "127.0.0.1:9000" }, "endpoint"},
	} {
		c := ok
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if _, err := aws.NewSTSMinter(c); err == nil {
			t.Errorf("%s: NewSTSMinter accepted it", tc.name)
		}
	}
}

func TestEnv(t *testing.T) {
	c := credentials.Credential{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: credentials.NewSecret("sk-value"), SessionToken: credentials.NewSecret("tok-value")}
	want := []string{"AWS_ACCESS_KEY_ID=ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=sk-value", "AWS_SESSION_TOKEN=tok-value", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"}
	if got := aws.Env(c, "eu-west-1"); !slices.Equal(got, want) {
		t.Errorf("Env = %v", got)
	}
	got := aws.Config{Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000"}.Env(c)
	if !slices.Equal(got[:5], want) || !slices.Contains(got, "AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000") {
		t.Errorf("Config.Env = %v", got)
	}
}

// TestInputsRefusedBeforeAnyCall: bad buckets and keys (a key is a
// session policy Resource, so no wildcards) fail as invalid input, with
// no call made (the endpoint is closed).
func TestInputsRefusedBeforeAnyCall(t *testing.T) {
	b := credentials.NewBroker(nil, nil)
	acts := aws.Actions(b, aws.Config{Endpoint: "http://127.0.0.1:1", RoleARN: "r"})
	ctx := stepCtx(alice, t.TempDir(), false)
	for _, in := range []map[string]any{
		{"bucket": "Bad_Bucket", "key": "k", "body": "x"},
		{"bucket": "ab", "key": "k", "body": "x"},
		{"bucket": "b-b-b", "key": "teams/team-a/*", "body": "x"},
		{"bucket": "b-b-b", "key": "teams/${aws:username}/x", "body": "x"},
		{"bucket": "b-b-b", "key": "teams/team-a/../team-b/x", "body": "x"},
		{"bucket": "b-b-b", "key": "/teams/x", "body": "x"},
		{"bucket": "b-b-b", "key": "k"},
		{"bucket": "b-b-b", "key": "k", "body": "x", "path": "p"},
		{"bucket": "b-b-b", "key": 3, "body": "x"},
	} {
		_, err := acts[aws.ActionPutObject](ctx, contractInput(in))
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%v: %v, want invalid input", in, err)
		}
	}
	if _, err := acts[aws.ActionCreateBucket](ctx, contractInput(map[string]any{"bucket": "-x-"})); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("bucket -x-: %v", err)
	}
	// Outside a verified step there is no run to mint for.
	if _, err := acts[aws.ActionCreateBucket](context.Background(), contractInput(map[string]any{"bucket": "abc"})); err == nil {
		t.Error("an action ran without a step.Env")
	}
}
