package testtools

import (
	"context"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/pgtest"
	"go.temporal.io/api/workflowservice/v1"
)

// TestClusterTemporalRequiresClientCertificates starts the official server on
// PostgreSQL and checks its frontend: a client with the test's certificate
// is served, one without is refused.
func TestClusterTemporalRequiresClientCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and the Temporal server; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := pgtest.Start(ctx)
	if err != nil {
		unavailable(t, "postgresql: "+err.Error())
	}
	t.Cleanup(pg.Stop)
	tc := StartTemporal(t, TemporalOptions{PostgresAddr: pg.Addr(), PostgresUser: "rigger"})
	c, err := tc.Dial(ctx, true)
	if err != nil {
		t.Fatalf("dial with a client certificate: %v", err)
	}
	defer c.Close()
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: tc.Namespace}); err != nil {
		t.Fatalf("describe namespace with a client certificate: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 10*time.Second)
	defer cancelShort()
	if bare, err := tc.Dial(short, false); err == nil {
		bare.Close()
		t.Fatal("a client without a certificate was served")
	} else {
		t.Logf("refused as expected: %v", err)
	}
}
