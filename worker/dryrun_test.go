package worker

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/templates"
)

// TestDryRunQuota (found in review): one 1 MiB skeleton file copied by a
// fetch:plain step with each over 64 items must stop at the dry-run quota
// (32 MiB), not write 64 MiB first.
func TestDryRunQuota(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, _ := templates.NewRenderer(templates.DefaultLimits())
	runner := &DryRunner{Scaffold: &activities.Scaffold{Renderer: r, Logger: discard}, Logger: discard}
	tpl, err := templates.Parse("t", []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: x
  parameters: [{properties: {n: {type: array, items: {type: string}}}}]
  steps:
    - id: copy
      action: fetch:plain
      each: ${{ parameters.n }}
      input: {url: ./skel, targetPath: '${{ each.value }}'}
`))
	if err != nil {
		t.Fatal(err)
	}
	var items []any
	for i := 0; i < 64; i++ {
		items = append(items, "d"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	plan, err := templates.Compile(tpl, map[string]any{"n": items}, contract.NewRegistry(nil), templates.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := []contract.DryRunFile{{Path: "skel/big.bin", Data: make([]byte, 1<<20)}}
	res, err := runner.DryRun(context.Background(), *plan, nil, files, permission.Subject{Ref: "user:default/tester"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || !strings.Contains(res.Err.Error(), "quota is 2000 files and 33554432 bytes") {
		t.Fatalf("want the quota to stop the step, got %v", res.Err)
	}
	var total int
	for _, f := range res.Files {
		total += len(f.Data)
	}
	if total > 32<<20 {
		t.Fatalf("the dry run wrote %d bytes", total)
	}
}
