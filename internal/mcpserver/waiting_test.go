package mcpserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// TestWaitingForNamesWhoDecides: the gate's message does not promise the
// creator the decision; it names the permission that gives it.
func TestWaitingForNamesWhoDecides(t *testing.T) {
	got := waitingFor("user:default/alice")
	for _, want := range []string{"waiting for approval by user:default/alice if the policy lets them", "scaffolder.task.approve", "not through MCP"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

// TestReceiptPlanBounded: a dry run's largest answer (every file at its
// cut) is kept within store.MaxDryRunPlan, files' contents first.
func TestReceiptPlanBounded(t *testing.T) {
	out := DryRunOut{Ref: "template:default/x", Status: "completed", Log: []LogLine{{Message: "hi"}}}
	for i := range maxFiles {
		out.Files = append(out.Files, DryRunFile{Path: fmt.Sprintf("f%d", i), Size: 1 << 20, Content: strings.Repeat("x", maxDryRunFile), Truncated: true})
	}
	b, err := receiptPlan(out)
	if err != nil || len(b) > store.MaxDryRunPlan {
		t.Fatalf("receipt plan: %d bytes, %v", len(b), err)
	}
	var got DryRunOut
	if err := json.Unmarshal(b, &got); err != nil || len(got.Files) != maxFiles || got.Files[0].Content != "" || !got.Files[0].Truncated || len(got.Log) != 1 {
		t.Fatalf("receipt plan: %+v %v", got.Files[:1], err)
	}
	if out.Files[0].Content == "" {
		t.Fatal("receiptPlan changed its argument")
	}
	small := DryRunOut{Ref: "r", Files: []DryRunFile{{Path: "a", Content: "hello"}}}
	if b, _ := receiptPlan(small); !strings.Contains(string(b), "hello") {
		t.Errorf("a small plan lost its content: %s", b)
	}
}
