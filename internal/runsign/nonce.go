package runsign

import (
	"crypto/rand"
	"encoding/hex"
)

// Nonce is n random bytes as hex: an unguessable part of a name a run
// signs or checks, such as an approval's request id. Workflow code must
// call it only inside workflow.SideEffect (the value is kept in the
// history and replayed, never drawn again), which is why it lives here and
// not in workflows, which may not import crypto/rand.
func Nonce(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
