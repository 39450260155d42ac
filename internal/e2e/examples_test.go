package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExampleTemplates loads examples/templates the way rigger dev does
// (scaffolder.templates) and runs each one to completion, checking the files
// it produced.
func TestExampleTemplates(t *testing.T) {
	needBinary(t)
	examples, err := filepath.Abs("../../examples/templates")
	if err != nil {
		t.Fatal(err)
	}
	// As examples/rigger.yaml: the guest is in the team owning the examples.
	p, dir := startDevWithConfig(t, fmt.Sprintf("scaffolder:\n  templates: [%s/*/template.yaml]\nauth: {devGuestGroups: [group:default/platform]}\n", examples))
	waitTotal(t, p.api, "kind=template", 8)
	const password = "pw-5d1e-not-for-logs"
	cases := []struct {
		template string
		values   map[string]any
		secrets  map[string]any
		files    map[string]string // workspace file -> fragment it must contain
		check    func(t *testing.T, taskID string)
	}{
		{"go-service", map[string]any{"name": "payments", "owner": "group:default/team-a"}, nil, map[string]string{
			"payments/cmd/payments/main.go":      `ListenAndServe(":8080"`,
			"payments/catalog-info.yaml":         "name: payments",
			"payments/.github/workflows/ci.yaml": "${{ github.sha }}",
		}, nil},
		{"docs-site", map[string]any{"name": "handbook", "owner": "group:default/team-a", "title": "Handbook"}, nil, map[string]string{
			"handbook/mkdocs.yml":        "- How to: how-to.md",
			"handbook/docs/how-to.md":    "# How to",
			"handbook/catalog-info.yaml": "backstage.io/techdocs-ref: dir:.",
			"handbook/docs/index.md":     "# Handbook",
		}, nil},
		{"catalog-entity", map[string]any{"name": "billing", "owner": "group:default/team-a", "system": "payments"}, nil, map[string]string{
			"catalog-info.yaml": "system: payments",
		}, func(t *testing.T, id string) {
			// Registered: in the catalog when the task completes, with a
			// location that refreshes it, and read back by catalog:fetch.
			var e struct {
				Metadata struct{ Name string }
				Spec     struct{ Owner, System string }
			}
			if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/billing", nil, &e); code != http.StatusOK || e.Spec.System != "payments" {
				t.Fatalf("registered entity: %d %+v", code, e)
			}
			var loc struct {
				Type, Target string
			}
			if code := doJSON(t, "GET", p.api+"/api/catalog/locations/by-entity/component/default/billing", nil, &loc); code != http.StatusOK || loc.Type != "file" || !strings.Contains(loc.Target, id) {
				t.Fatalf("its location: %d %+v", code, loc)
			}
			if out := fmt.Sprint(taskOutput(t, p.api, id)); !strings.Contains(out, "billing is in the catalog, owned by group:default/team-a") || !strings.Contains(out, "component:default/billing") {
				t.Fatalf("output: %s", out)
			}
		}},
	}
	// create-service: the conditional Database page shown, a secret, a
	// dependency and a repository; registered in the catalog.
	cases = append(cases, struct {
		template string
		values   map[string]any
		secrets  map[string]any
		files    map[string]string
		check    func(t *testing.T, taskID string)
	}{"create-service", map[string]any{"name": "orders", "owner": "group:default/team-a", "kind": "service",
		"dependsOn": "component:default/billing", "needsDatabase": true, "engine": "postgres", "databaseName": "orders",
		"repoUrl": "localhost?owner=acme&repo=orders",
		// As an older Backstage client sends a password widget's value.
		"databasePassword": password}, map[string]any{"databasePassword": password}, map[string]string{
		"orders/catalog-info.yaml": "github.com/project-slug: acme/orders",
		"orders/database.yaml":     "engine: postgres",
		"orders/README.md":         "A postgres database named `orders`",
	}, func(t *testing.T, id string) {
		var e struct {
			Spec struct {
				Owner     string
				DependsOn []string
			}
		}
		if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/orders", nil, &e); code != http.StatusOK ||
			e.Spec.Owner != "group:default/team-a" || len(e.Spec.DependsOn) != 1 {
			t.Fatalf("registered entity: %d %+v", code, e)
		}
		// Start over reads spec.parameters: the values with defaults, never
		// a field the template marks secret (Backstage #14428).
		var task struct {
			Spec struct{ Parameters map[string]any }
		}
		if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+id, nil, &task); code != http.StatusOK ||
			task.Spec.Parameters["name"] != "orders" || task.Spec.Parameters["description"] != "A new service" {
			t.Fatalf("task parameters: %d %v", code, task.Spec.Parameters)
		}
		if _, has := task.Spec.Parameters["databasePassword"]; has {
			t.Errorf("the task's parameters give the password back: %v", task.Spec.Parameters)
		}
		events := eventText(t, p.api, id)
		if strings.Contains(events, password) || !strings.Contains(events, "password in a log line reads: ***") {
			t.Errorf("the secret in the log: %s", events)
		}
		out := fmt.Sprint(taskOutput(t, p.api, id))
		remote := p.api + "/git/acme/orders.git"
		for _, want := range []string{"component:default/orders", "git clone " + remote, "orders is in the catalog, owned by group:default/team-a"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q: %s", want, out)
			}
		}
		// The golden path offline: the new repository clones from rigger
		// dev's own git host and holds the rendered service.
		clone := filepath.Join(t.TempDir(), "orders")
		cmd := exec.Command("git", "clone", "-q", remote, clone)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git clone %s: %v %s", remote, err, b)
		}
		if b, err := os.ReadFile(filepath.Join(clone, "catalog-info.yaml")); err != nil || !strings.Contains(string(b), "name: orders") {
			t.Fatalf("the cloned catalog-info.yaml: %v %s", err, b)
		}
		// The push token was minted by the broker for this task, and audited.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var page struct {
				Items []struct {
					Event struct {
						Actor, Target, Decision string
						Details                 map[string]string
					} `json:"event"`
				} `json:"items"`
			}
			if code := doJSON(t, "GET", p.api+"/api/audit/events?action=credential.mint", nil, &page); code != http.StatusOK {
				t.Fatalf("audit events: %d", code)
			}
			found := false
			for _, it := range page.Items {
				e := it.Event
				found = found || e.Target == "git:localhost/acme/orders" && e.Decision == "allow" && e.Details["task"] == id && e.Details["action"] == "publish:github"
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no credential.mint audit event for the push: %+v", page.Items)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}})
	for _, c := range cases {
		t.Run(c.template, func(t *testing.T) {
			var created struct{ ID string }
			body := map[string]any{"templateRef": "template:default/" + c.template, "values": c.values}
			if c.secrets != nil {
				body["secrets"] = c.secrets
			}
			if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", body, &created); code != http.StatusCreated {
				t.Fatalf("create: %d", code)
			}
			if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
				t.Fatalf("task: %+v", tr)
			}
			ws := filepath.Join(dir, "data", "workspaces", created.ID)
			for f, want := range c.files {
				got, err := os.ReadFile(filepath.Join(ws, f))
				if err != nil || !strings.Contains(string(got), want) {
					t.Errorf("%s: %v\n%s\n(want %q)", f, err, got, want)
				}
			}
			if c.check != nil {
				c.check(t, created.ID)
			}
		})
	}

	// create-service without a database: the Database page is hidden, so
	// its required fields are not, and values sent for it are dropped.
	t.Run("create-service without a database", func(t *testing.T) {
		var created struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/create-service",
			"values": map[string]any{"name": "web", "owner": "group:default/team-a", "engine": "nosuch", "repoUrl": "localhost?owner=acme&repo=web"}}, &created); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		tr := waitTask(t, p.api, created.ID)
		if tr.Status != "completed" || tr.Steps[1].Status != "skipped" {
			t.Fatalf("task: %+v", tr)
		}
		var e struct{ Error struct{ Message string } }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/create-service",
			"values": map[string]any{"name": "web2", "owner": "group:default/team-a", "needsDatabase": true, "repoUrl": "localhost?owner=acme&repo=web2"}}, &e); code != http.StatusBadRequest ||
			!strings.Contains(e.Error.Message, `parameters.databaseName: required (page 2 "Database")`) {
			t.Fatalf("database page shown: %d %+v", code, e)
		}
	})

	// flaky-demo: step 2 fails on the first run and passes on retry; step
	// 1 runs once.
	// terraform-approval: a real terraform plans on the rigger-terraform
	// worker, the run waits for the approval (the summary in its
	// message), then applies exactly that plan and reads its outputs.
	t.Run("terraform-approval", func(t *testing.T) {
		var created struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/terraform-approval",
			"values": map[string]any{"name": "shop", "environment": "staging"}}, &created); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		var tr approvalTask
		deadline := time.Now().Add(2 * time.Minute)
		for tr.Approval == nil {
			if time.Now().After(deadline) {
				t.Fatalf("never waited for the approval: %+v\n%s", tr, eventText(t, p.api, created.ID))
			}
			time.Sleep(100 * time.Millisecond)
			if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+created.ID, nil, &tr); code != http.StatusOK || tr.Status != "processing" {
				t.Fatalf("task: %d %+v\n%s", code, tr, eventText(t, p.api, created.ID))
			}
		}
		if !strings.Contains(tr.Approval.Message, "Terraform plan for shop (staging): 1 to add, 0 to change, 0 to destroy") {
			t.Fatalf("the approval message: %q", tr.Approval.Message)
		}
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/approve", map[string]any{"requestId": tr.Approval.RequestID}, nil); code != http.StatusOK {
			t.Fatalf("approve: %d", code)
		}
		if done := waitTask(t, p.api, created.ID); done.Status != "completed" {
			t.Fatalf("task: %+v\n%s", done, eventText(t, p.api, created.ID))
		}
		out := fmt.Sprint(taskOutput(t, p.api, created.ID))
		if !strings.Contains(out, "1 to add, 0 to change, 0 to destroy, applied after user:default/guest's approval") || strings.Contains(out, "environment_id: \n") {
			t.Fatalf("output: %s", out)
		}
		if events := eventText(t, p.api, created.ID); !strings.Contains(events, "terraform_data.environment will be created") {
			t.Errorf("the plan is not in the task log: %s", events)
		}
	})

	t.Run("flaky-demo", func(t *testing.T) {
		var created struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/flaky-demo", "values": map[string]any{}}, &created); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		tr := waitTask(t, p.api, created.ID)
		if tr.Status != "failed" || tr.Steps[0].Status != "completed" || tr.Steps[1].Status != "failed" ||
			!strings.Contains(tr.Steps[1].Error, "toggle/a/ready.txt") || tr.Steps[2].Status != "open" {
			t.Fatalf("first run: %+v", tr)
		}
		var e struct{ Error struct{ Message string } }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/retry", nil, &e); code != http.StatusCreated {
			t.Fatalf("retry: %d %+v", code, e)
		}
		if tr = waitTask(t, p.api, created.ID); tr.Status != "completed" {
			t.Fatalf("after the retry: %+v", tr)
		}
		for step, want := range map[string]int{"setup": 1, "flaky": 2, "done": 1} {
			if n := countLogs(p.stdout.String()+p.stderr.String(), map[string]any{"msg": "action executed", "task_id": created.ID, "step_id": step}); n != want {
				t.Errorf("step %s ran %d times, want %d", step, n, want)
			}
		}
	})

	// release-approval: waits at its approval step until approved (dev's
	// guest may approve its own run there), then announces the release.
	t.Run("release-approval", func(t *testing.T) {
		var created struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/release-approval",
			"values": map[string]any{"service": "component:default/payments", "version": "1.4.0"}}, &created); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		deadline := time.Now().Add(60 * time.Second)
		request := ""
		for {
			var tr struct {
				Approval *struct{ Message, RequestID string } `json:"approval"`
			}
			if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+created.ID, nil, &tr); code != http.StatusOK {
				t.Fatalf("get: %d", code)
			}
			if tr.Approval != nil {
				if !strings.Contains(tr.Approval.Message, "Release 1.4.0 of component:default/payments?") {
					t.Fatalf("approval message: %q", tr.Approval.Message)
				}
				request = tr.Approval.RequestID
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the release never waited for its approval")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/approve", map[string]any{"requestId": request, "comment": "go"}, nil); code != http.StatusOK {
			t.Fatalf("approve: %d", code)
		}
		if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
			t.Fatalf("approved release: %+v", tr)
		}
		if out := fmt.Sprint(taskOutput(t, p.api, created.ID)); !strings.Contains(out, "1.4.0 of component:default/payments was approved by user:default/guest") {
			t.Errorf("output: %s", out)
		}
	})
}
