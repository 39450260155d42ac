package auth

import (
	"context"
	"flag"
	"os"
	"sync"
	"testing"

	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/store/postgres"
)

var pg pgtest.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pg.Main(m, "auth"))
}

// TestReplicasStartTogetherOnPostgres starts four issuers on one empty
// PostgreSQL database at the same instant, as the replicas of a
// deployment start: one signing key is made, and each replica verifies
// every other's tokens.
func TestReplicasStartTogetherOnPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pg.DB(t, "auth")
	c := newClock()
	const n = 4
	issuers := make([]*Issuer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		st, err := postgres.Open(ctx, dsn, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		wg.Go(func() {
			<-start
			issuers[i], errs[i] = NewIssuer(ctx, IssuerOptions{Store: st, DataKey: testDataKey, URL: testIssuerURL, Now: c.Now})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	if n := jwksLen(t, issuers[0]); n != 1 {
		t.Fatalf("%d signing keys after replicas started together, want 1", n)
	}
	for i, a := range issuers {
		tok, _, err := a.Issue(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range issuers {
			if _, err := b.Verify(ctx, tok); err != nil {
				t.Errorf("replica %d refuses replica %d's token: %v", j, i, err)
			}
		}
	}
}
