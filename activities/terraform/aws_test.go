package terraform_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/riggerdev/rigger/activities/aws"
	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/testtools"
)

// teamAPolicy lets team-a's runs use AWS under teams/team-a/ of the test
// bucket (the user in rig.run is in no group: the policy names her).
const teamAPolicy = `
permit (principal is Rigger::User, action == Rigger::Action::"scaffolder.action.execute", resource is Rigger::ScaffolderAction)
when { resource.integration == "aws" && principal == Rigger::User::"user:default/alice" &&
       resource.target like "arn:aws:s3:::rigger-test/teams/team-a/*" };
`

// TestStepAWSSessionIsTerraformsOnlyCloudCredential: a step declaring
// AWS gets a real STS session (MinIO) narrowed to what it declared, in
// terraform's environment instead of the worker's keys; its state lives
// in S3 through that session; a step aiming elsewhere is refused before
// any session is minted; no secret shows in outputs, logs or errors.
// Terraform runs sandboxed, with the network (it needs it for the session).
func TestStepAWSSessionIsTerraformsOnlyCloudCredential(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", plantedAWS)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPLANTEDWORKERKEY")
	m := testtools.StartMinIO(t)
	awsCfg := aws.Config{
		Region: m.Region, Endpoint: m.Endpoint, RoleARN: "arn:aws:iam::123456789012:role/rigger-terraform",
		AccessKeyID: m.AccessKeyID, SecretAccessKey: credentials.NewSecret(m.SecretAccessKey),
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	}
	minter, err := aws.NewSTSMinter(awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "p.cedar")
	if err := os.WriteFile(f, []byte(teamAPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	policy, err := permission.Load([]string{f})
	if err != nil {
		t.Fatal(err)
	}
	broker := credentials.NewBroker(credentials.PolicyDecider{Policy: policy}, slog.New(slog.DiscardHandler), minter)
	r := &rig{ws: t.TempDir()}
	r.actions, err = terraform.Actions(broker, terraform.Config{Binary: testtools.Binary(t, "terraform")}, terraform.Options{
		TempDir: t.TempDir(), AWS: awsCfg, Sandbox: sandboxed(t),
		OnEnv: func(env map[string]string) { r.mu.Lock(); r.envs = append(r.envs, env); r.mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The state is in S3, written with the step's session (Terraform
	// 1.5's S3 backend reads the session from the environment).
	r.write(t, "infra/main.tf", `
terraform {
  backend "s3" {
    bucket                      = "`+m.Bucket+`"
    key                         = "teams/team-a/payments.tfstate"
    region                      = "`+m.Region+`"
    endpoint                    = "`+m.Endpoint+`"
    force_path_style            = true
    skip_credentials_validation = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }
}
`+serviceTF)
	teamA := map[string]any{"resource": "arn:aws:s3:::" + m.Bucket + "/teams/team-a/*", "actions": []any{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}}
	plan, err := r.run(t, terraform.ActionPlan, false, map[string]any{"dir": "infra", "vars": map[string]any{"name": "payments"}, "aws": teamA})
	if err != nil {
		t.Fatalf("plan with the step's session: %v", err)
	}
	apply, err := r.run(t, terraform.ActionApply, false, map[string]any{"dir": "infra", "planChecksum": plan.Output["planChecksum"], "aws": teamA})
	if err != nil {
		t.Fatalf("apply with the step's session: %v", err)
	}
	out, err := m.S3(m.RootUser, m.RootPassword, "").GetObject(context.Background(), &s3.GetObjectInput{Bucket: sdkaws.String(m.Bucket), Key: sdkaws.String("teams/team-a/payments.tfstate")})
	if err != nil {
		t.Fatalf("the state is not in S3: %v", err)
	}
	out.Body.Close()

	// terraform's environment held the session, not the worker's keys.
	r.mu.Lock()
	envs := r.envs
	r.mu.Unlock()
	if len(envs) == 0 {
		t.Fatal("no environment recorded")
	}
	env := envs[0]
	if env["AWS_ACCESS_KEY_ID"] == "" || env["AWS_ACCESS_KEY_ID"] == "AKIAPLANTEDWORKERKEY" || env["AWS_ACCESS_KEY_ID"] == m.AccessKeyID ||
		env["AWS_SESSION_TOKEN"] == "" || env["AWS_SECRET_ACCESS_KEY"] == plantedAWS || env["AWS_SECRET_ACCESS_KEY"] == m.SecretAccessKey {
		t.Error("terraform did not get a session of its own in place of the worker's keys")
	}
	// The session is narrowed to what the step declared.
	sess := m.S3(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
	_, err = sess.PutObject(context.Background(), &s3.PutObjectInput{Bucket: sdkaws.String(m.Bucket), Key: sdkaws.String("teams/team-b/x"), Body: strings.NewReader("x")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Errorf("the step's session wrote outside what it declared: %v", err)
	}
	secrets := []string{env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"], m.SecretAccessKey, plantedAWS}
	noLeak(t, "plan", plan, nil, secrets...)
	noLeak(t, "apply", apply, nil, secrets...)

	// Aiming at team-b is refused by the policy: no session, no terraform.
	before := len(envs)
	teamB := map[string]any{"resource": "arn:aws:s3:::" + m.Bucket + "/teams/team-b/*", "actions": []any{"s3:PutObject"}}
	refused, err := r.run(t, terraform.ActionPlan, false, map[string]any{"dir": "infra", "vars": map[string]any{"name": "payments"}, "aws": teamB})
	if errType(err) != terraform.ForbiddenType {
		t.Errorf("a step aiming at team-b: %v %v, want %s", refused, err, terraform.ForbiddenType)
	}
	r.mu.Lock()
	if len(r.envs) != before {
		t.Error("terraform was prepared for a refused session")
	}
	r.mu.Unlock()

	destroyed, err := r.run(t, terraform.ActionDestroy, false, map[string]any{"dir": "infra", "vars": map[string]any{"name": "payments"}, "aws": teamA})
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	noLeak(t, "destroy", destroyed, nil, secrets...)
}
