package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestByQueryTotalItemsExclude: totalItems=exclude (Backstage's by-query
// parameter, which the web UI's pickers send) answers the same pages,
// cursors included, with no totalItems in any of them; without it (or
// with include) every page counts; any other value is a 400 naming the
// parameter.
func TestByQueryTotalItemsExclude(t *testing.T) {
	srv, _ := policyServer(t)
	for _, c := range []struct {
		param     string
		wantTotal bool
	}{{"", true}, {"&totalItems=include", true}, {"&totalItems=exclude", false}} {
		t.Run(c.param, func(t *testing.T) {
			var seen []string
			next := "/api/catalog/entities/by-query?filter=kind=component&limit=1&fullTextFilterTerm=-&fullTextFilterFields=metadata.name" + c.param
			for next != "" {
				var page map[string]json.RawMessage
				if code := call(t, srv, "alice", "GET", next, "", &page); code != http.StatusOK {
					t.Fatalf("%s: %d", next, code)
				}
				total, has := page["totalItems"]
				if has != c.wantTotal || (has && string(total) != "2") {
					t.Fatalf("%s: totalItems %s (present %v), want present %v (2)", next, total, has, c.wantTotal)
				}
				var body struct {
					Items    []wireEntity `json:"items"`
					PageInfo struct {
						NextCursor string `json:"nextCursor"`
					} `json:"pageInfo"`
				}
				raw, _ := json.Marshal(page)
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, names(body.Items)...)
				next = ""
				if body.PageInfo.NextCursor != "" {
					next = "/api/catalog/entities/by-query?limit=1&cursor=" + url.QueryEscape(body.PageInfo.NextCursor)
				}
				if len(seen) > 5 {
					t.Fatal("cursor loop")
				}
			}
			if strings.Join(seen, ",") != "svc-a,svc-a2" {
				t.Errorf("pages: %v", seen)
			}
		})
	}
	var msg string
	if code := call(t, srv, "alice", "GET", "/api/catalog/entities/by-query?totalItems=some", "", &msg); code != http.StatusBadRequest || !strings.Contains(msg, "totalItems must be include or exclude") {
		t.Errorf("totalItems=some: %d %s", code, msg)
	}
}
