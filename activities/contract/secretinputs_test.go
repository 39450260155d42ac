package contract

import (
	"strings"
	"testing"

	"github.com/riggerdev/rigger/templates"
)

const secretFlowsTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: secret-flows
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: fetch
      name: Fetch with a token
      action: fetch:template
      input:
        url: ./skeleton
        token: ${{ secrets.gitToken }}
        values:
          apiKey: ${{ secrets.apiKey | lower }}
    - id: write
      name: Write the key
      action: fs:write
      input:
        path: key.txt
        content: "key=${{ secrets['apiKey'] }} again ${{ secrets.apiKey }}"
    - id: file
      name: Fetch one file
      action: fetch:plain:file
      input:
        url: https://example.com/f
        targetPath: f
        token: ${{ secrets.gitToken }}
`

// The actions' schemas mark their secret-accepting inputs, and a strict
// validation warns (never errors) about a secret in any other input,
// naming the step and the field.
func TestStrictValidationWarnsAboutSecretInputs(t *testing.T) {
	for _, action := range []string{"fetch:template", "fetch:plain", "fetch:plain:file"} {
		doc, ok := ActionDocs(action)
		if !ok || !strings.Contains(string(doc.Input), `"`+templates.SecretInputKey+`": true`) {
			t.Errorf("%s does not mark its token input as secret-accepting", action)
		}
	}
	tpl, err := templates.Parse("secret-flows", []byte(secretFlowsTemplate))
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry(nil)
	if problems := templates.Validate(tpl, reg); len(problems) != 0 {
		t.Fatalf("plain validation: %v", problems)
	}
	problems := templates.ValidateWith(tpl, reg, templates.ValidateOptions{Strict: true})
	var got []string
	for _, p := range problems {
		if p.Severity != templates.SeverityWarning {
			t.Errorf("not a warning: %v", p)
		}
		got = append(got, p.String())
	}
	want := []string{
		`warning: steps[0] (id "fetch").input.values.apiKey: secrets.apiKey flows into input "values", which fetch:template does not mark`,
		`warning: steps[1] (id "write").input.content: secrets.apiKey flows into input "content", which fs:write does not mark`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if templates.HasErrors(problems) {
		t.Fatal("a secret in another input must not be an error")
	}
}
