package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// derivedTemplate renders a secret through filters into a skeleton's file
// names and contents, lists the workspace, then fails a step with the
// secret inside a URL.
const derivedTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: derives-secret
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - properties:
        marker: {type: string}
  steps:
    - id: fetch
      name: Render the skeleton
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: app
        values:
          token: ${{ secrets.token }}
          marker: ${{ parameters.marker }}
    - id: show
      name: Show the workspace
      action: debug:log
      input:
        message: marker ${{ parameters.marker }}
        listWorkspace: with-contents
    - id: leak
      name: Fetch with the secret in a URL
      action: fetch:plain:file
      input:
        url: https://localhost/${{ secrets.token }}
        targetPath: x.txt
`

// derivedForms are substrings of the secret's derivations (lower,
// reverse, upper, replace, truncate, urlencode, base64, its characters
// joined or printed in a loop) that nothing else in a run holds.
func derivedLeaks(text string) []string {
	var found []string
	low := strings.ToLower(text)
	for _, form := range []string{"zebra", "arbez", "d@y", "y@d", "pw%20", "pw+d", "qx d", "uhcgzeb5",
		"z-e-b-r-a", "z.e.b.r.a", "z,e,b,r,a", "a-r-b-e-z"} {
		if strings.Contains(low, form) {
			found = append(found, form)
		}
	}
	return found
}

// storedLeaks is derivedLeaks for binary database files, where any three
// bytes turn up by chance (a WAL once held "y@d" among its page bytes): the
// three-character forms count there only with the secret's next characters
// beside them, as every derivation this test makes leaves them.
func storedLeaks(data string) []string {
	low := strings.ToLower(data)
	var out []string
	for _, f := range derivedLeaks(data) {
		switch {
		case f == "d@y" && !strings.Contains(low, "pw d@y"):
		case f == "y@d" && !strings.Contains(low, "y@d wp"):
		default:
			out = append(out, f)
		}
	}
	return out
}

func TestSecretDerivativesNeverLeave(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	sk := filepath.Join(dir, "skeleton")
	if err := os.MkdirAll(sk, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"lower-${{ values.token | lower }}.txt":                    "${{ values.token | lower }} ${{ values.marker }}",
		"reverse-${{ values.token | reverse }}.txt":                "${{ values.token | reverse | upper }}",
		"replace-${{ values.token | replace('Pw', 'Qx') }}.txt":    "${{ values.token | urlencode }}",
		"truncate-${{ values.token | truncate(9, true, '') }}.txt": "${{ values.token | dump }}",
		"title-${{ values.token | title }}.md":                     "${{ values.token.split('?') | join('|') }}",
		// Taken apart character by character and put back together.
		"chars-${{ values.token.split('').reverse().join('') }}.txt":                                                                  "{% for c in values.token %}${{ c }}.{% endfor %}",
		"list-${{ values.token | list | join('-') }}.txt":                                                                             "${{ values.token | list }}",
		"idx-${{ values.token[10] }}${{ values.token[11] }}${{ values.token[12] }}${{ values.token[13] }}${{ values.token[14] }}.txt": "{% set cs = values.token | list %}{% for c in cs | reverse %}${{ c }}-{% endfor %}",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(sk, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(derivedTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	p, cfgDir := startDevWithConfig(t, fmt.Sprintf("scaffolder:\n  allowedHosts: [localhost]\ncatalog:\n  locations:\n    - type: file\n      target: %s\n", filepath.Join(dir, "template.yaml")))
	waitTotal(t, p.api, "kind=template", 1)
	const secret, marker = "Pw d@y?&x-Zebra", "marker-5150-visible"

	var c struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/derives-secret",
		"values": map[string]any{"marker": marker}, "secrets": map[string]any{"token": secret}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	tr := waitTask(t, p.api, c.ID)
	if tr.Status != "failed" || tr.Steps[0].Status != "completed" || tr.Steps[1].Status != "completed" || tr.Steps[2].Status != "failed" {
		t.Fatalf("task: %+v", tr)
	}
	// The workspace holds the derived names: the run did derive them.
	ws := filepath.Join(cfgDir, "data", "workspaces", c.ID, "app")
	entries, err := os.ReadDir(ws)
	if err != nil || len(entries) != len(files) {
		t.Fatalf("workspace: %v %v", entries, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(derivedLeaks(strings.Join(names, " "))) < 4 {
		t.Fatalf("the skeleton's names do not hold the derived values: %q", names)
	}

	events := eventText(t, p.api, c.ID)
	if !strings.Contains(events, marker) || !strings.Contains(events, "***") {
		t.Fatalf("events lack the marker or any redaction (the check would prove nothing):\n%s", events)
	}
	if l := derivedLeaks(events); len(l) > 0 {
		t.Errorf("events show %v:\n%s", l, events)
	}
	var task map[string]any
	doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+c.ID, nil, &task)
	if l := derivedLeaks(fmt.Sprint(task)); len(l) > 0 {
		t.Errorf("the task shows %v: %v", l, task)
	}
	// The SSE stream of the finished task.
	stream := eventStream(t, p.api, c.ID)
	if !strings.Contains(stream, marker) {
		t.Fatalf("the event stream lacks the marker:\n%s", stream)
	}
	if l := derivedLeaks(stream); len(l) > 0 {
		t.Errorf("the event stream shows %v", l)
	}
	// Everything rigger and Temporal persisted, and every log line.
	// rigger dev encrypts workflow payloads (internal/payloadcodec): the
	// marker, a parameter, is in none of Temporal's files, while the task
	// id (a workflow id, never encrypted) shows the scan reads them.
	foundID := false
	err = filepath.WalkDir(filepath.Join(cfgDir, "data"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := filepath.Base(path)
		if !strings.HasPrefix(base, "rigger.db") && !strings.HasPrefix(base, "rigger-audit.db") && !isTemporalDB(base) {
			return nil
		}
		data, _ := os.ReadFile(path)
		if l := storedLeaks(string(data)); len(l) > 0 {
			i := strings.Index(strings.ToLower(string(data)), l[0])
			t.Errorf("%s holds %v: %q", path, l, data[max(0, i-300):min(len(data), i+100)])
		}
		if isTemporalDB(base) {
			if strings.Contains(string(data), c.ID) {
				foundID = true
			}
			if i := strings.Index(string(data), marker); i >= 0 {
				t.Errorf("%s holds the marker parameter in clear text: payloads are not encrypted: %q", path, data[max(0, i-200):min(len(data), i+100)])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !foundID {
		t.Error("the task id is not in Temporal's database: this check would prove nothing")
	}
	if l := derivedLeaks(p.stdout.String() + p.stderr.String()); len(l) > 0 {
		t.Errorf("the process log shows %v", l)
	}
}
