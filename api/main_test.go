package api

import (
	"flag"
	"os"
	"testing"

	"github.com/riggerdev/rigger/internal/pgtest"
)

// pg is the PostgreSQL server of the tests that run on both stores.
var pg pgtest.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pg.Main(m, "api"))
}
