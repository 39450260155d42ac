package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Grafana dashboard in deploy/ queries only series this package
// exports (rigger_*, go_*, process_*) or the SDK reports (temporal_*, as
// the SDK handler names its timers).
func TestDashboardQueriesExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/rigger-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	m := New()
	m.HTTPRequest("/x", "GET", 200, time.Millisecond)
	m.TaskStarted("t")
	m.TaskEnded("t", "failed")
	m.Step("a", nil, time.Millisecond)
	m.Refresh(nil, time.Millisecond, 1, 0, 0, 0)
	m.DocsBuild(OK, time.Millisecond)
	h := m.Temporal()
	h.Timer("temporal_workflow_task_schedule_to_start_latency").Record(time.Millisecond)
	h.Timer("temporal_activity_schedule_to_start_latency").Record(time.Millisecond)
	text := scrape(t, m)
	name := regexp.MustCompile(`\b(?:rigger|temporal|go|process)_[a-z_]+\b`)
	queries := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			for _, series := range name.FindAllString(q.Expr, -1) {
				if !strings.Contains(text, "\n"+series+"{") && !strings.Contains(text, "\n"+series+" ") {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, series)
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}
