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

// TestByQueryLimitZero: limit=0 (how clients count) answers no items and
// the totalItems the caller's pages add up to, filtered as they are,
// what the policy hides left out; with totalItems=exclude, neither.
func TestByQueryLimitZero(t *testing.T) {
	srv, _ := policyServer(t)
	service := map[string]int{} // spec.type=service: alice may not read secret-b
	for _, filter := range []string{"", "kind=component", "kind=component,spec.type=service", "spec.lifecycle", "metadata.namespace=default,spec.owner=group:default/team-b", "spec.type=service", "kind=domain"} {
		q := "&filter=" + url.QueryEscape(filter)
		if filter == "" {
			q = ""
		}
		for _, who := range []string{"alice", "carol"} {
			var all, counted struct {
				Items      []wireEntity `json:"items"`
				TotalItems *int         `json:"totalItems"`
			}
			if code := call(t, srv, who, "GET", "/api/catalog/entities/by-query?limit=1000"+q, "", &all); code != http.StatusOK || all.TotalItems == nil {
				t.Fatalf("%s, %q: %d %v", who, filter, code, all.TotalItems)
			}
			if code := call(t, srv, who, "GET", "/api/catalog/entities/by-query?limit=0"+q, "", &counted); code != http.StatusOK || counted.TotalItems == nil {
				t.Fatalf("%s, %q, limit=0: %d %v", who, filter, code, counted.TotalItems)
			}
			if *counted.TotalItems != len(all.Items) || *all.TotalItems != len(all.Items) || len(counted.Items) != 0 {
				t.Fatalf("%s, %q: limit=0 counts %d with %d items; the page lists %d, totalItems %d", who, filter, *counted.TotalItems, len(counted.Items), len(all.Items), *all.TotalItems)
			}
			if filter == "spec.type=service" {
				service[who] = *counted.TotalItems
			}
		}
	}
	if service["alice"] != 2 || service["carol"] != 3 {
		t.Fatalf("spec.type=service counts %v, want alice 2 (secret-b hidden) and carol 3", service)
	}
	var page map[string]json.RawMessage
	if code := call(t, srv, "alice", "GET", "/api/catalog/entities/by-query?limit=0&totalItems=exclude&filter=kind=component", "", &page); code != http.StatusOK || page["totalItems"] != nil || string(page["items"]) != "[]" {
		t.Fatalf("limit=0, totalItems=exclude: %d %v", code, page)
	}
}
