package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/permission"
)

// BenchmarkAuthPolicyRequest: what authentication and the policy cost one
// request — GET an entity by name, in process, on SQLite — as rigger dev's
// guest without a policy, and with an ES256 access token verified and the
// default policy deciding (and pruning the entity's relations), with and
// without the check for revoked tokens. Reports p50/p99 per request; their
// difference is the overhead.
func BenchmarkAuthPolicyRequest(b *testing.B) {
	base, _ := catalogServer(b, policyCatalog(b))
	st := base.deps.Catalog.Store
	keys := testStore(b)
	iss, err := auth.NewIssuer(b.Context(), auth.IssuerOptions{Store: keys, DataKey: []byte("0123456789abcdef0123456789abcdef"), URL: "https://rigger.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := iss.Issue(b.Context(), auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}})
	if err != nil {
		b.Fatal(err)
	}
	// The same keys, without revocations: the store seen only as a
	// KeyStore.
	noRev, err := auth.NewIssuer(b.Context(), auth.IssuerOptions{Store: struct{ auth.KeyStore }{keys}, DataKey: []byte("0123456789abcdef0123456789abcdef"), URL: "https://rigger.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	pol, err := permission.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		srv    *Server
		bearer string
	}{
		{"guest,no-policy", New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Dev: true, Catalog: CatalogDeps{Store: st}}), ""},
		{"guest,policy", New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Dev: true, Catalog: CatalogDeps{Store: st}, Policy: pol}), ""},
		{"token,policy", New(Deps{Logger: discardLogger(), Auth: auth.Chain{Issuer: iss}, Catalog: CatalogDeps{Store: st}, Policy: pol}), token},
		{"token,policy,no-revocation-check", New(Deps{Logger: discardLogger(), Auth: auth.Chain{Issuer: noRev}, Catalog: CatalogDeps{Store: st}, Policy: pol}), token},
	} {
		b.Run(c.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				req := loopbackRequest("GET", "/api/catalog/entities/by-name/component/default/svc-a", nil)
				if c.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+c.bearer)
				}
				w := httptest.NewRecorder()
				start := time.Now()
				c.srv.Handler().ServeHTTP(w, req)
				times = append(times, time.Since(start))
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1000, "p50-µs")
			b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds())/1000, "p99-µs")
		})
	}
}
