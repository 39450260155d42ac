// Command rigger is the one rigger binary: `rigger dev` runs the whole platform
// in one process; `rigger server` and `rigger worker` run its parts against an
// existing Temporal cluster. This package only wires things together.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Set at link time by the Makefile (-ldflags -X); never written at run time.
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	sandboxExec(os.Args)
	nameWorkerBinary()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCommand(os.Stdout, os.Stderr, os.LookupEnv).ExecuteContext(ctx)
	if err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			if ex.msg != "" {
				fmt.Fprintln(os.Stderr, "rigger:", ex.msg)
			}
			os.Exit(ex.code)
		}
		fmt.Fprintln(os.Stderr, "rigger:", err)
		os.Exit(1)
	}
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
