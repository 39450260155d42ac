// Command rigger-sandbox is the sandbox helper alone: `rigger-sandbox
// sandbox-exec` does what `rigger sandbox-exec` does (and, started in a
// tool's place with RIGGER_SANDBOX_SPEC set, what rigger does so), but
// starts in a few milliseconds because it links nothing but
// internal/sandbox, and no cgo, so it is a static binary (the rigger
// binary loads its shared libraries and runs the init of every package it
// links first). Workers point sandbox.Options.Helper at it when it is
// installed next to rigger.
package main

import (
	"fmt"
	"os"

	"github.com/riggerdev/rigger/internal/sandbox"
)

func main() {
	if spec := os.Getenv(sandbox.ShimEnv); spec != "" {
		sandbox.ShimMain(spec)
	}
	if len(os.Args) > 1 && os.Args[1] == sandbox.ExecArg {
		sandbox.Main()
	}
	fmt.Fprintf(os.Stderr, "usage: %s %s (started by rigger with a Spec on fd 3)\n", os.Args[0], sandbox.ExecArg)
	os.Exit(sandbox.ExitCannotRun)
}
