package docs

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Findings of the security review: a protocol-relative edit_uri is
// dropped, a missing docs folder is reported without the server's path,
// and a site without site_name takes the name its caller gives.
func TestDocsReviewFixes(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"mkdocs.yml":    "edit_uri: //evil.example/phish?\n",
		"docs/index.md": "# Home\n",
	})
	site, err := Build(context.Background(), dir, Options{SiteName: "Checkout service"})
	if err != nil {
		t.Fatal(err)
	}
	if site.Metadata.EditURI != "" {
		t.Errorf("edit_uri %q kept", site.Metadata.EditURI)
	}
	if !strings.Contains(strings.Join(site.Log, "\n"), "edit_uri") {
		t.Errorf("no warning for the dropped edit_uri: %v", site.Log)
	}
	if site.Metadata.SiteName != "Checkout service" {
		t.Errorf("site name %q", site.Metadata.SiteName)
	}
	empty := writeTree(t, map[string]string{"mkdocs.yml": "site_name: x\ndocs_dir: nope\n"})
	_, err = Build(context.Background(), empty, Options{})
	if !errors.Is(err, ErrNoDocs) || strings.Contains(err.Error(), empty) {
		t.Errorf("missing docs folder: %v (must not name %s)", err, empty)
	}
}

// The search index holds a page once (its title heading is not a second
// entry) and no diagram source.
func TestDocsIndexEntries(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"mkdocs.yml":    "site_name: s\n",
		"docs/index.md": "# Architecture\n\nIntro words.\n\n```mermaid\nflowchart LR\n  a[Storefront] --> b\n```\n\n## Data stores\n\nPostgreSQL.\n",
	})
	site, err := Build(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var locs []string
	for _, d := range site.Index {
		locs = append(locs, d.Location)
		if strings.Contains(d.Text, "flowchart") || strings.Contains(d.Text, "Storefront") {
			t.Errorf("%s indexes the diagram's source: %q", d.Location, d.Text)
		}
	}
	if strings.Join(locs, ",") != ",#data-stores" {
		t.Errorf("index locations %q, want the page and its one section", locs)
	}
}
