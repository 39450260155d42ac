package testtools

import (
	"fmt"
	"testing"
)

// FreeAddr is a 127.0.0.1 address with a port free at the time of the call,
// for a server a test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}
