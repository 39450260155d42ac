package main

import (
	"os"

	"github.com/riggerdev/rigger/internal/sandbox"
)

// sandboxExec hands the process to the sandbox helper when it was started as
// one: `rigger sandbox-exec` (by internal/sandbox, with the Spec on fd 3), or
// in a tool's place with sandbox.ShimEnv set (terraform started by
// terraform-exec). It runs first in main, before signal handling, config or
// flags: the helper confines itself and execs the tool, and never returns.
func sandboxExec(args []string) {
	if spec := os.Getenv(sandbox.ShimEnv); spec != "" {
		sandbox.ShimMain(spec)
	}
	if len(args) > 1 && args[1] == sandbox.ExecArg {
		sandbox.Main()
	}
}
