package devserver

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/server/common/dynamicconfig"

	"github.com/riggerdev/rigger/internal/searchattr"
)

// TestRefusesOtherTemporalVersion: a data dir whose temporal.db was written
// by another embedded Temporal version, or whose version stamp is missing,
// is refused with a message naming both versions (or the missing stamp),
// and the database is left untouched; nothing is started.
func TestRefusesOtherTemporalVersion(t *testing.T) {
	cases := []struct {
		name    string
		version *string
		want    []string
	}{
		{"other version", ptr("1.0.0\n"), []string{"temporal.db was written by Temporal server 1.0.0 but this rigger embeds " + ServerVersion(), "no automatic migration"}},
		{"no version stamp", nil, []string{"temporal.version cannot be read", "refusing to open a database of unknown schema version"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "temporal.db")
			if err := os.WriteFile(db, []byte("not touched"), 0o600); err != nil {
				t.Fatal(err)
			}
			if c.version != nil {
				if err := os.WriteFile(filepath.Join(dir, "temporal.version"), []byte(*c.version), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Start(Options{DataDir: dir, FrontendAddress: "127.0.0.1:0", Namespace: "default", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err == nil {
				s.Stop()
				t.Fatal("started on a database of another version")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if got, _ := os.ReadFile(db); string(got) != "not touched" {
				t.Errorf("the database was changed: %q", got)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestSearchAttributesSettled: the search attribute caches are refreshed on
// every read until the embedder says its attributes are registered; after
// that (none registered just now) they are trusted, and a workflow started
// with rigger's search attributes is accepted and listed by them. Had some
// been registered just now, the forced refresh would stay on.
func TestSearchAttributesSettled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	s, err := Start(Options{DataDir: t.TempDir(), FrontendAddress: "127.0.0.1:0", Namespace: "default", Retention: time.Hour,
		SearchAttributes: searchattr.Definitions(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	// Port 0: the server picked one and says which (waitHealthy dials it).
	addr := s.FrontendAddress()
	if strings.HasSuffix(addr, ":0") || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("started on port 0: FrontendAddress %q, want 127.0.0.1 and the port it picked", addr)
	}
	forced := func() bool {
		v := s.dc.GetValue(dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key())
		return len(v) > 0 && v[0].Value == true
	}
	if !forced() {
		t.Fatal("the search attribute caches are not refreshed on every read at start")
	}
	s.SearchAttributesSettled(true)
	if !forced() {
		t.Fatal("attributes registered just now: the forced refresh ended before the caches expired")
	}
	s.SearchAttributesSettled(false)
	if forced() {
		t.Fatal("settled: the caches are still refreshed on every read")
	}

	c := waitHealthy(t, addr)
	deadline := time.Now().Add(60 * time.Second)
	tpl, _, _ := searchattr.Keys()
	if _, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "settled", TaskQueue: "nobody-polls",
		TypedSearchAttributes: temporal.NewSearchAttributes(tpl.ValueSet("template:default/t"))}, "some-workflow"); err != nil {
		t.Fatalf("start with rigger's search attributes after settling: %v", err)
	}
	for {
		resp, err := c.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: tpl.GetName() + " = 'template:default/t'"})
		if err == nil && len(resp.GetExecutions()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workflow is not listed by its template after settling: %v, %v", resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitHealthy dials the frontend at addr until it answers a health check
// (60 s at most); the client is closed when the test ends.
func waitHealthy(t *testing.T, addr string) client.Client {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default", Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err == nil {
			if _, err = c.CheckHealth(t.Context(), &client.CheckHealthRequest{}); err == nil {
				t.Cleanup(c.Close)
				return c
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporal did not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFrontendHostMustBeIP: the services bind to the frontend's host, so
// a host name is refused before anything starts, with a message saying
// what to write instead.
func TestFrontendHostMustBeIP(t *testing.T) {
	_, err := Start(Options{DataDir: t.TempDir(), FrontendAddress: "localhost:7233", Namespace: "default", Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), `temporal frontend address "localhost:7233": the host must be an IP address, such as 127.0.0.1`) {
		t.Fatalf("a host name as the frontend's host: %v", err)
	}
}
