package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/riggerdev/rigger/internal/testtools"
)

const awsTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: s3-write}
spec:
  owner: group:default/platform
  type: resource
  parameters:
    - properties:
        bucket: {type: string}
  steps:
    - id: put
      name: Write the object
      action: aws:s3:put-object
      input: {bucket: "${{ parameters.bucket }}", key: teams/platform/hello.txt, body: "hello from rigger", contentType: text/plain}
`

// awsYAML is integrations.aws for MinIO m reached at endpoint, as lines
// under "integrations:".
func awsYAML(m testtools.MinIO, endpoint string) string {
	return fmt.Sprintf(`  aws:
    region: us-east-1
    endpoint: %s
    roleArn: arn:aws:iam::123456789012:role/rigger-scaffolder
    accessKeyId: %s
    secretAccessKey: %s
`, endpoint, m.AccessKeyID, m.SecretAccessKey)
}

// TestAWSStepThroughRigger: rigger dev with integrations.aws against a
// real MinIO runs aws:s3:put-object on its rigger-aws worker with a
// 15-minute STS session the broker minted (audited) for that one object;
// neither the worker's secret nor the session's appear in rigger's output
// or the task's events.
func TestAWSStepThroughRigger(t *testing.T) {
	needBinary(t)
	m := testtools.StartMinIO(t)
	dir := t.TempDir()
	cfg := templateConfig(t, dir, awsTemplate, "integrations:\n"+awsYAML(m, m.Endpoint))
	p := startDevOn(t, dir, cfg, freePorts(t))
	waitTotal(t, p.api, "kind=template", 1)
	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/s3-write", "values": map[string]any{"bucket": m.Bucket}}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
		t.Fatalf("task: %+v\n%s", tr, eventText(t, p.api, created.ID))
	}
	obj, err := m.S3(m.RootUser, m.RootPassword, "").GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String("teams/platform/hello.txt")})
	if err != nil {
		t.Fatalf("the object: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != "hello from rigger" {
		t.Fatalf("the object holds %q", body)
	}
	var page struct {
		Items []struct {
			Event struct {
				Target, Decision string
				Details          map[string]string
			} `json:"event"`
		} `json:"items"`
	}
	waitFor(t, "the credential.mint audit event", func() bool {
		page.Items = nil
		doJSON(t, "GET", p.api+"/api/audit/events?action=credential.mint", nil, &page)
		for _, it := range page.Items {
			if it.Event.Target == "aws:arn:aws:s3:::"+m.Bucket+"/teams/platform/hello.txt" && it.Event.Decision == "allow" && it.Event.Details["task"] == created.ID {
				return true
			}
		}
		return false
	})
	all := p.stdout.String() + p.stderr.String() + eventText(t, p.api, created.ID)
	if strings.Contains(all, m.SecretAccessKey) {
		t.Fatal("the worker's AWS secret is in rigger's output or the task's events")
	}
	if !strings.Contains(p.stderr.String(), "credential minted") {
		t.Fatal("the broker logged no mint")
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
