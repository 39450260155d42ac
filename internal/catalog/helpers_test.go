package catalog

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// component is a valid entity used across tests.
const component = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc-a
  tags: [go]
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: payments
  providesApis: [pay-api]
  dependsOn: [resource:default/db]
`

// parseOne parses a one-document file that must be valid.
func parseOne(t *testing.T, src string) Entity {
	t.Helper()
	docs, err := Parse("t.yaml", []byte(src), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Entity == nil {
		t.Fatalf("want one valid entity, got %s", docErrors(docs))
	}
	return docs[0].Entity
}

// docErrors joins the errors of every document.
func docErrors(docs []Doc) string {
	var msgs []string
	for _, d := range docs {
		for _, e := range d.Errors {
			msgs = append(msgs, e.Error())
		}
	}
	return strings.Join(msgs, "\n")
}

// withSpec returns a valid entity of kind with the given spec lines
// (already indented by two spaces).
func withSpec(apiVersion, kind, spec string) string {
	return "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n  name: x\nspec:\n" + spec
}

// yamlDocs returns the root node of the first document of src.
func yamlDocs(src string) (*yaml.Node, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		return nil, err
	}
	return n.Content[0], nil
}

func mustValue(t *testing.T, n *yaml.Node) any {
	t.Helper()
	v, err := yamlsafe.Value(n)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	n, err := yamlDocs(src)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
