package activities

import (
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/netguard"
)

// TestTemplateSources: a run's template base must be one of the worker's
// own template sources, whatever the signed input says.
func TestTemplateSources(t *testing.T) {
	src := TemplateSources{
		Dirs:  []string{"/srv/templates", "/srv/repos/catalog"},
		Hosts: netguard.Policy{AllowedHosts: []string{"github.com"}},
		Bases: []string{"file:///tmp/dry-run-1/template/template.yaml"},
	}
	for _, base := range []string{
		"",
		"file:///srv/templates/go/template.yaml",
		"git:/srv/repos/catalog#templates/go/template.yaml",
		"git:file:///srv/repos/catalog#t.yaml",
		"git:https://github.com/acme/t.git#template.yaml",
		"https://github.com/acme/t/blob/main/template.yaml",
		"file:///tmp/dry-run-1/template/template.yaml",
	} {
		if err := src.Check(base); err != nil {
			t.Errorf("Check(%q): %v", base, err)
		}
	}
	for _, base := range []string{
		"file:///etc/",
		"file:///etc/passwd",
		"file:///srv/templates/../../etc/passwd",
		"file:///srv/templatesX/t.yaml",
		"file://host/srv/templates/t.yaml",
		"git:/etc#passwd",
		"git:https://evil.example/t.git#t.yaml",
		"https://evil.example/t.yaml",
		"ftp://github.com/t.yaml",
		"/srv/templates/t.yaml",
	} {
		if err := src.Check(base); err == nil || !strings.Contains(err.Error(), "is not a location this worker reads templates from") {
			t.Errorf("Check(%q) = %v, want a refusal", base, err)
		}
	}
}
