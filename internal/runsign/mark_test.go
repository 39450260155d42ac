package runsign

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMarks: a mark verifies only for the item (run, attempt, step,
// index, each key, action, input) or step outcome it was made for, and
// only under the key that made it.
func TestMarks(t *testing.T) {
	m, err := NewMarker([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	it := Item{TaskID: "t1", RunID: "run-a", Attempt: 1, StepID: "fetch", Index: 0, EachKey: "", Action: "catalog:fetch"}
	input := map[string]any{"entityRef": "group:default/a", "n": int64(3)}
	mark, err := m.MarkItem(it, input)
	if err != nil {
		t.Fatal(err)
	}
	// After a trip through JSON the input still verifies.
	if err := m.CheckItem(it, map[string]any{"n": float64(3), "entityRef": "group:default/a"}, mark); err != nil {
		t.Fatalf("the marked input: %v", err)
	}
	changes := map[string]func(Item) Item{
		"another run":     func(i Item) Item { i.RunID = "run-b"; return i },
		"another attempt": func(i Item) Item { i.Attempt = 2; return i },
		"another task":    func(i Item) Item { i.TaskID = "t2"; return i },
		"another step":    func(i Item) Item { i.StepID = "x"; return i },
		"another item":    func(i Item) Item { i.Index = 1; return i },
		"another each":    func(i Item) Item { i.EachKey = "k"; return i },
		"another action":  func(i Item) Item { i.Action = "catalog:write"; return i },
	}
	for name, change := range changes {
		if err := m.CheckItem(change(it), input, mark); !errors.Is(err, ErrBadMark) {
			t.Errorf("%s: %v, want ErrBadMark", name, err)
		}
	}
	if err := m.CheckItem(it, map[string]any{"entityRef": "user:default/admin", "n": int64(3)}, mark); !errors.Is(err, ErrBadMark) {
		t.Errorf("another input: %v", err)
	}
	if err := m.CheckItem(it, input, ""); !errors.Is(err, ErrBadMark) {
		t.Errorf("no mark: %v", err)
	}
	other, _ := NewMarker([]byte(strings.Repeat("o", 32)))
	if err := other.CheckItem(it, input, mark); !errors.Is(err, ErrBadMark) {
		t.Errorf("another key: %v", err)
	}

	out := map[string]any{"entity": map[string]any{"kind": "Group"}}
	sm, _ := m.MarkStep("t1", "fetch", "completed", out)
	if err := m.CheckStep("t1", "fetch", "completed", out, sm); err != nil {
		t.Fatalf("the marked output: %v", err)
	}
	if err := m.CheckStep("t1", "fetch", "completed", map[string]any{"entity": map[string]any{"kind": "User"}}, sm); !errors.Is(err, ErrBadMark) {
		t.Errorf("another output: %v", err)
	}
	if err := m.CheckStep("t1", "fetch", "skipped", out, sm); !errors.Is(err, ErrBadMark) {
		t.Errorf("another status: %v", err)
	}
	if err := m.CheckStep("t2", "fetch", "completed", out, sm); !errors.Is(err, ErrBadMark) {
		t.Errorf("another task: %v", err)
	}
	empty, _ := m.MarkStep("t1", "log", "completed", nil)
	if err := m.CheckStep("t1", "log", "completed", map[string]any{}, empty); err != nil {
		t.Errorf("no output and an empty output mark alike: %v", err)
	}
	if _, err := NewMarker([]byte("short")); err == nil {
		t.Error("a short secret was accepted")
	}
}

// BenchmarkMarkItem is what marking costs per action activity: the render
// marks the item, the activity checks it and marks its output (compare
// with make bench's scaffolder per-task time, ~100-200 ms).
func BenchmarkMarkItem(b *testing.B) {
	m, _ := NewMarker([]byte(strings.Repeat("k", 32)))
	it := Item{TaskID: "0d6f4b5e-7a1c-4c55-9d2e-000000000000", RunID: "0d6f4b5e-7a1c-4c55-9d2e-000000000001", Attempt: 1, StepID: "publish", Action: "catalog:register"}
	input := map[string]any{"repoContentsUrl": "https://github.com/acme/svc/blob/main", "catalogInfoPath": "/catalog-info.yaml",
		"values": map[string]any{"name": "svc", "owner": "group:default/team-a", "description": strings.Repeat("d", 200)}}
	output := map[string]any{"entityRef": "component:default/svc", "catalogInfoUrl": "https://github.com/acme/svc/blob/main/catalog-info.yaml"}
	for b.Loop() {
		mark, err := m.MarkItem(it, input)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.CheckItem(it, input, mark); err != nil {
			b.Fatal(err)
		}
		if _, err := m.MarkStep(it.TaskID, it.StepID, "completed", output); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCallbackTokens(t *testing.T) {
	m, _ := NewMarker([]byte(strings.Repeat("k", 32)))
	other, _ := NewMarker([]byte(strings.Repeat("o", 32)))
	now := time.Now()
	tok := m.EncodeCallback(Callback{TaskID: "t1", RequestID: "w.0.1", Expires: now.Add(time.Hour).Unix()})
	if strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q is not URL-safe", tok)
	}
	if c, err := m.DecodeCallback(tok, now); err != nil || c.TaskID != "t1" || c.RequestID != "w.0.1" {
		t.Fatalf("decode: %+v %v", c, err)
	}
	body, mac, _ := strings.Cut(tok, ".")
	forgedBody := m.EncodeCallback(Callback{TaskID: "t2", RequestID: "w.0.1", Expires: now.Add(time.Hour).Unix()})
	fb, _, _ := strings.Cut(forgedBody, ".")
	for name, bad := range map[string]string{
		"another key":  other.EncodeCallback(Callback{TaskID: "t1", RequestID: "w.0.1", Expires: now.Add(time.Hour).Unix()}),
		"swapped body": fb + "." + mac, "no mac": body, "empty": "", "huge": strings.Repeat("a", 5000),
		"a step mark": body + "." + m.Token("other purpose", body),
	} {
		if _, err := m.DecodeCallback(bad, now); err != ErrBadCallback {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := m.DecodeCallback(tok, now.Add(2*time.Hour)); err != ErrExpiredCallback {
		t.Errorf("expired: %v", err)
	}
}
