package devserver

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

// TestFatalIsNeverSilent: the server's fatal log ends the process; with a
// logger that drops errors (as tests pass) the message and its tags still
// reach stderr, and with one that keeps them it is not written twice.
func TestFatalIsNeverSilent(t *testing.T) {
	var stderr bytes.Buffer
	var code int
	out, exit := fatalOut, fatalExit
	t.Cleanup(func() { fatalOut, fatalExit = out, exit })
	fatalOut, fatalExit = &stderr, func(c int) { code = c }

	drop := slogLogger{l: slog.New(slog.DiscardHandler), quiet: &atomic.Bool{}}
	drop.Fatal("Failed to start gRPC listener", tag.Address("127.0.0.1:7233"))
	if code != 1 || !strings.Contains(stderr.String(), "temporal server: fatal: Failed to start gRPC listener") || !strings.Contains(stderr.String(), "127.0.0.1:7233") {
		t.Errorf("a fatal log through a discarding logger: exit %d, stderr %q", code, stderr.String())
	}

	stderr.Reset()
	code = 0
	var logged bytes.Buffer
	keep := slogLogger{l: slog.New(slog.NewJSONHandler(&logged, nil)), quiet: &atomic.Bool{}}
	keep.Fatal("Failed to start ringpop listener")
	if code != 1 || stderr.Len() != 0 || !strings.Contains(logged.String(), "Failed to start ringpop listener") {
		t.Errorf("a fatal log through a logger that keeps errors: exit %d, stderr %q, log %q", code, stderr.String(), logged.String())
	}
}
