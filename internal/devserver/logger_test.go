package devserver

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

// TestFatalIsNeverSilent: the server's fatal log ends the process; the
// message and its tags reach stderr whatever the logger keeps (a
// discarding handler, a text handler on io.Discard as tests pass, or one
// that writes), and the logger still gets it.
func TestFatalIsNeverSilent(t *testing.T) {
	var stderr bytes.Buffer
	var code int
	out, exit := fatalOut, fatalExit
	t.Cleanup(func() { fatalOut, fatalExit = out, exit })
	fatalOut, fatalExit = &stderr, func(c int) { code = c }

	var logged bytes.Buffer
	for name, h := range map[string]slog.Handler{
		"discard handler":    slog.DiscardHandler,
		"text to io.Discard": slog.NewTextHandler(io.Discard, nil),
		"json":               slog.NewJSONHandler(&logged, nil),
	} {
		stderr.Reset()
		code = 0
		l := slogLogger{l: slog.New(h), quiet: &atomic.Bool{}}
		l.Fatal("Failed to start gRPC listener", tag.Address("127.0.0.1:7233"))
		if code != 1 || !strings.Contains(stderr.String(), "temporal server: fatal: Failed to start gRPC listener") || !strings.Contains(stderr.String(), "127.0.0.1:7233") {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr.String())
		}
	}
	if !strings.Contains(logged.String(), "Failed to start gRPC listener") {
		t.Errorf("the logger that keeps errors did not get the fatal one: %q", logged.String())
	}
}
