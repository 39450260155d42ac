package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
)

// derivedSecret's derived forms are checked by these substrings, which no
// redaction marker or ordinary text holds.
const derivedSecret = "Pw d@y?&x-Zebra"

// leaks reports which form of derivedSecret text still shows, also with
// every character but letters and digits taken out (Z-e-b-r-a, Z.e.b.r.a).
func leaks(text string) []string {
	var found []string
	for _, form := range []string{"zebra", "arbez", "ARBEZ", "d@y", "y?&x", "Pw%20", "Pw+d", "UHcgZEB5"} {
		if strings.Contains(strings.ToLower(text), strings.ToLower(form)) {
			found = append(found, form)
		}
	}
	squeezed := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ToLower(text))
	for _, form := range []string{"zebra", "arbez"} {
		if strings.Contains(squeezed, form) {
			found = append(found, form+" (spread)")
		}
	}
	return found
}

// TestSecretDerivedValuesRedacted: fetch:template renders a secret through
// filters into file names and contents; the action's logs and errors, and
// a later step's listing of the workspace, show none of the derived
// values, though the files hold them.
func TestSecretDerivedValuesRedacted(t *testing.T) {
	s, _ := newScaffold(t)
	s.Secrets = sealedSecrets(t, "drv", map[string]string{"token": derivedSecret})
	dir := t.TempDir()
	sk := filepath.Join(dir, "skeleton")
	names := map[string]string{
		"lower-${{ values.token | lower }}.txt":                       "${{ values.token | lower }}",
		"rev-${{ values.token | reverse }}.txt":                       "${{ values.token | reverse | upper }}",
		"repl-${{ values.token | replace('Pw', 'Qx') }}.txt":          "${{ values.token | urlencode }}",
		"trunc-${{ values.token | truncate(11, true, '') }}.txt":      "${{ values.token | dump }}",
		"cut-${{ values.token.slice(3).split('?') | join('_') }}.txt": "${{ values.token.split('?') | join('|') }}",
		// Taken apart character by character and put back together.
		"chars-${{ values.token.split('').reverse().join('') }}.txt":                                                                  "{% for c in values.token %}${{ c }}.{% endfor %}",
		"list-${{ values.token | list | join('-') }}.txt":                                                                             "${{ values.token | list }}",
		"idx-${{ values.token[10] }}${{ values.token[11] }}${{ values.token[12] }}${{ values.token[13] }}${{ values.token[14] }}.txt": "{% set cs = values.token | list %}{% for c in cs | reverse %}${{ c }}-{% endfor %}",
	}
	if err := os.MkdirAll(sk, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range names {
		if err := os.WriteFile(filepath.Join(sk, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := "file://" + filepath.Join(dir, "template.yaml")
	ctx := context.Background()
	in := contract.ActionInput{TaskID: "drv", StepID: "fetch", Secrets: true, SecretNonce: "n1", TemplateBaseURL: base,
		Input: map[string]any{"url": "./skeleton", "targetPath": "out", "values": map[string]any{"token": contract.SecretRef("n1", "token")}}}
	out, err := s.Actions()["fetch:template"](ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// The files hold the derived values: the test is about what leaves.
	entries, err := os.ReadDir(filepath.Join(s.Workspaces.Dir, "drv", "out"))
	if err != nil || len(entries) != len(names) {
		t.Fatalf("workspace: %v %v", entries, err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	if len(leaks(strings.Join(onDisk, "\n"))) == 0 {
		t.Fatalf("the skeleton did not derive file names from the secret: %q", onDisk)
	}
	if l := leaks(strings.Join(out.Logs, "\n")); len(l) > 0 {
		t.Errorf("fetch:template logs show %v:\n%s", l, strings.Join(out.Logs, "\n"))
	}
	// A later step lists the workspace with contents.
	list := contract.ActionInput{TaskID: "drv", StepID: "show", Secrets: true, SecretNonce: "n1",
		Input: map[string]any{"message": "files", "listWorkspace": "with-contents"}}
	out, err = s.Actions()["debug:log"](ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(out.Logs, "\n")
	if l := leaks(text); len(l) > 0 || !strings.Contains(text, "***") {
		t.Errorf("debug:log listing shows %v:\n%s", l, text)
	}
	// An error naming a derived file name is redacted as well.
	bad := contract.ActionInput{TaskID: "drv", StepID: "rename", Secrets: true, SecretNonce: "n1",
		Input: map[string]any{"files": []any{map[string]any{"from": "out/" + onDisk[0], "to": "out/" + onDisk[1]}}}}
	_, err = s.Actions()["fs:rename"](ctx, bad)
	if err == nil || len(leaks(err.Error())) > 0 || !strings.Contains(err.Error(), "***") {
		t.Errorf("fs:rename error: %v", err)
	}
	// The record of derived values is deleted with the workspace.
	rec, _ := s.Workspaces.derivedPath("drv")
	if _, err := os.Stat(rec); err != nil {
		t.Fatalf("no record of the derived values: %v", err)
	}
	if info, _ := os.Stat(rec); info.Mode().Perm() != 0o600 {
		t.Errorf("record mode %v", info.Mode().Perm())
	}
	if n, err := s.Workspaces.Sweep(time.Nanosecond, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := os.Stat(rec); !os.IsNotExist(err) {
		t.Fatalf("the record outlived its workspace: %v", err)
	}
}

// TestMultiLineSecretRedacted: a PEM-like secret written by catalog:write
// (YAML re-indents it as a block, or quotes it) and listed by debug:log
// with contents shows none of its lines.
func TestMultiLineSecretRedacted(t *testing.T) {
	lines := []string{"-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "bKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", "-----END PRIVATE KEY-----"}
	for name, pem := range map[string]string{
		"block":         strings.Join(lines, "\n") + "\n",
		"single-quoted": "key's: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'bKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj PRIVATE KEY", // YAML quotes it: '' doubling
		"double-quoted": strings.Join(lines, "\n") + "\t\"end\"\x01",                                            // YAML escapes it
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := newScaffold(t)
			s.Secrets = sealedSecrets(t, "pem", map[string]string{"pem": pem})
			ctx := context.Background()
			write := contract.ActionInput{TaskID: "pem", StepID: "write", Secrets: true, SecretNonce: "n1",
				Input: map[string]any{"entity": map[string]any{"kind": "Component", "metadata": map[string]any{
					"name": "svc", "description": contract.SecretRef("n1", "pem")}}}}
			if _, err := s.Actions()["catalog:write"](ctx, write); err != nil {
				t.Fatal(err)
			}
			onDisk, err := os.ReadFile(filepath.Join(s.Workspaces.Dir, "pem", "catalog-info.yaml"))
			if err != nil || !strings.Contains(string(onDisk), "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC") || strings.Contains(string(onDisk), pem) {
				t.Fatalf("the file does not hold the key re-encoded (the test would prove nothing): %q %v", onDisk, err)
			}
			list := contract.ActionInput{TaskID: "pem", StepID: "show", Secrets: true, SecretNonce: "n1",
				Input: map[string]any{"message": "files", "listWorkspace": "with-contents"}}
			out, err := s.Actions()["debug:log"](ctx, list)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(out.Logs, "\n")
			if !strings.Contains(text, "name: svc") {
				t.Fatalf("the listing lacks the file (the test would prove nothing):\n%s", text)
			}
			for _, l := range []string{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "bKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", "PRIVATE KEY"} {
				if strings.Contains(text, l) {
					t.Errorf("the listing shows %q:\n%s", l, text)
				}
			}
		})
	}
}
