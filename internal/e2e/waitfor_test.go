package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

const waitForTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: waits}
spec:
  owner: group:default/platform
  type: service
  parameters:
    - properties:
        pr: {type: integer}
  steps:
    - id: called
      name: Wait for the ticket system
      action: rigger:wait-for
      input: {for: callback, timeout: 14d, message: "The ticket system calls back."}
    - id: merged
      name: Wait for the pull request
      action: rigger:wait-for
      input:
        for: pull-request
        repoUrl: github.com?owner=acme&repo=payments
        pullRequest: ${{ parameters.pr }}
        timeout: 2w
    - id: after
      name: After
      action: debug:log
      input: {message: "ticket ${{ steps.called.output.payload.ticket }}, merged by ${{ steps.merged.output.mergedBy }}"}
`

const webhookSecret = "whsec-0123456789abcdef-rigger"

type waitTaskResp struct {
	Status string `json:"status"`
	Steps  []struct {
		ID, Status string
		Wait       *struct {
			RequestID    string `json:"requestId"`
			What         string `json:"what"`
			CallbackPath string `json:"callbackPath"`
			Outcome      string `json:"outcome"`
		} `json:"wait"`
	} `json:"steps"`
}

// TestWaitFor: in rigger dev, a run waits for its callback across a
// SIGKILL and restart, holding no worker; a forged callback token is
// refused, the real one takes one call; then it waits for a pull request,
// which a forged webhook cannot end, a signed one does, once.
func TestWaitFor(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfg := templateConfig(t, dir, waitForTemplate, fmt.Sprintf(`integrations:
  github:
    - host: github.com
      webhookSecret: %s
`, webhookSecret))
	ps := freePorts(t)
	dev := func() *proc { return startDevOn(t, dir, cfg, ps) }
	p := dev()
	waitTotal(t, p.api, "kind=template", 1)
	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/waits", "values": map[string]any{"pr": 12}}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	id := created.ID
	waitingOn := func(step int) waitTaskResp {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var tr waitTaskResp
			if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+id, nil, &tr); code != http.StatusOK {
				t.Fatalf("get task: %d", code)
			}
			if len(tr.Steps) > step && tr.Steps[step].Wait != nil && tr.Steps[step].Wait.Outcome == "" || tr.Status != "processing" {
				return tr
			}
			if time.Now().After(deadline) {
				t.Fatalf("task never waited at step %d: %+v", step, tr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	tr := waitingOn(0)
	cb := tr.Steps[0].Wait.CallbackPath
	if !strings.HasPrefix(cb, "/api/scaffolder/v2/callbacks/") || tr.Steps[0].Status != "processing" {
		t.Fatalf("waiting for the callback: %+v", tr)
	}

	// SIGKILL while it waits; after the restart it still waits and its
	// callback URL still works.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 10*time.Second)
	p = dev()
	if tr := waitingOn(0); tr.Steps[0].Wait.CallbackPath != cb {
		t.Fatalf("after the restart: %+v", tr)
	}
	post := func(path string, body []byte, header map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", p.api+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	forgedCB := cb[:len(cb)-3] + "AAA"
	if code, out := post(forgedCB, []byte(`{"ticket":"EVIL-1"}`), nil); code != http.StatusForbidden || !strings.Contains(out, "does not verify") {
		t.Fatalf("forged callback: %d %s", code, out)
	}
	if code, out := post(cb, []byte(`{not json`), nil); code != http.StatusBadRequest || !strings.Contains(out, "not JSON") {
		t.Fatalf("callback with a bad body: %d %s", code, out)
	}
	if code, out := post(cb, []byte(`{"ticket":"OPS-7"}`), nil); code != http.StatusAccepted {
		t.Fatalf("callback: %d %s", code, out)
	}
	tr = waitingOn(1)
	if tr.Steps[0].Status != "completed" || tr.Steps[1].Wait.What != "pull request #12 of github.com/acme/payments to be merged" {
		t.Fatalf("after the callback: %+v", tr)
	}
	if code, out := post(cb, []byte(`{"ticket":"OPS-8"}`), nil); code != http.StatusConflict || !strings.Contains(out, "no longer waits") {
		t.Fatalf("a second call of the callback: %d %s", code, out)
	}

	// GitHub's webhook: unsigned, badly signed, then signed.
	event := []byte(`{"action":"closed","number":12,"repository":{"full_name":"acme/payments"},"pull_request":{"number":12,"merged":true,"html_url":"https://github.com/acme/payments/pull/12","merge_commit_sha":"abc","merged_by":{"login":"octocat"}}}`)
	sign := func(secret string, body []byte) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	hdr := func(sig, delivery string) map[string]string {
		h := map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery}
		if sig != "" {
			h["X-Hub-Signature-256"] = sig
		}
		return h
	}
	if code, out := post("/api/webhooks/github", event, hdr("", "d-1")); code != http.StatusUnauthorized {
		t.Fatalf("unsigned webhook: %d %s", code, out)
	}
	if code, out := post("/api/webhooks/github", event, hdr(sign("another-secret-0123456789", event), "d-1")); code != http.StatusUnauthorized || !strings.Contains(out, "does not verify") {
		t.Fatalf("webhook signed with another secret: %d %s", code, out)
	}
	tampered := bytes.Replace(event, []byte("octocat"), []byte("mallory"), 1)
	if code, out := post("/api/webhooks/github", tampered, hdr(sign(webhookSecret, event), "d-1")); code != http.StatusUnauthorized {
		t.Fatalf("tampered webhook: %d %s", code, out)
	}
	if tr := waitingOn(1); tr.Status != "processing" || tr.Steps[1].Wait.Outcome != "" {
		t.Fatalf("a refused webhook ended the wait: %+v", tr)
	}
	// A fork's workflow run names the base repository: never a wait's end.
	forkRun := []byte(`{"action":"completed","repository":{"full_name":"acme/payments"},"workflow_run":{"id":9,"conclusion":"success","head_branch":"main","path":".github/workflows/ci.yml","head_repository":{"full_name":"mallory/payments"}}}`)
	if code, out := post("/api/webhooks/github", forkRun, map[string]string{"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": "d-fork", "X-Hub-Signature-256": sign(webhookSecret, forkRun)}); code != http.StatusOK || !strings.Contains(out, "ignored") {
		t.Fatalf("a fork's workflow run: %d %s", code, out)
	}
	if code, out := post("/api/webhooks/github", event, hdr(sign(webhookSecret, event), "d-2")); code != http.StatusAccepted || !strings.Contains(out, `"tasks":1`) {
		t.Fatalf("signed webhook: %d %s", code, out)
	}
	if code, out := post("/api/webhooks/github", event, hdr(sign(webhookSecret, event), "d-2")); code != http.StatusOK || !strings.Contains(out, "duplicate") {
		t.Fatalf("replayed webhook: %d %s", code, out)
	}
	// The delivery id is not signed: the same body under a new one is a replay too.
	if code, out := post("/api/webhooks/github", event, hdr(sign(webhookSecret, event), "d-3")); code != http.StatusOK || !strings.Contains(out, "duplicate") {
		t.Fatalf("the same body under another delivery id: %d %s", code, out)
	}
	if tr := waitTask(t, p.api, id); tr.Status != "completed" {
		t.Fatalf("task after the webhook: %+v", tr)
	}
	events := eventText(t, p.api, id)
	if !strings.Contains(events, "ticket OPS-7, merged by octocat") || strings.Contains(events, "EVIL") || strings.Contains(events, "mallory") {
		t.Errorf("the run's log: %s", events)
	}
}
