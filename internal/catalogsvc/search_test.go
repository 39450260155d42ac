package catalogsvc

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// TestSearchHidesWhatTheCallerMayNotRead: the service hands the engine
// the caller's read filters, so team-b's sensitive entity and its docs are
// neither found nor counted for alice, are for bob and without a policy;
// the guest may not search at all under the default policy.
func TestSearchHidesWhatTheCallerMayNotRead(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		policy  bool
		visible bool
	}{{"alice,policy", true, false}, {"bob,policy", true, true}, {"alice,no-policy", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			s, st, _ := testService(t, c.policy)
			if err := st.ReplaceDocsIndex(ctx, "component:default/secret-b", []store.DocsSearchDoc{{Location: "#keys", Title: "Secret keys", Text: "Rotate them."}}); err != nil {
				t.Fatal(err)
			}
			who := alice
			if c.name == "bob,policy" {
				who = bob
			}
			page, err := s.Search(ctx, who, store.SearchQuery{Term: "secret", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, r := range page.Results {
				refs = append(refs, r.Type+" "+r.EntityRef)
			}
			want := []string{}
			if c.visible {
				want = []string{"software-catalog component:default/secret-b", "techdocs component:default/secret-b"}
			}
			slices.Sort(refs)
			if !slices.Equal(append([]string{}, refs...), want) || page.Total != len(want) {
				t.Fatalf("results %v (total %d), want %v", refs, page.Total, want)
			}
		})
	}
	s, _, _ := testService(t, true)
	if _, err := s.Search(ctx, guest, store.SearchQuery{Term: "svc", Limit: 10}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("guest search: %v", err)
	}
}
