package devserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogLogger adapts the server's logging interface to log/slog, so the embedded
// server writes the same structured JSON lines as the rest of rigger.
type slogLogger struct {
	l *slog.Logger
	// quiet, once set (at shutdown), drops everything below error: the
	// server's system workers warn about every connection they lose.
	quiet *atomic.Bool
}

var _ log.Logger = slogLogger{}
var _ log.WithLogger = slogLogger{}

func (s slogLogger) attrs(tags []tag.Tag) []any {
	out := make([]any, 0, len(tags))
	for _, t := range tags {
		out = append(out, slog.Any(t.Key(), t.Value()))
	}
	return out
}

func (s slogLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	if s.quiet.Load() && level < slog.LevelError || !s.l.Enabled(context.Background(), level) {
		return
	}
	s.l.Log(context.Background(), level, msg, s.attrs(tags)...)
}

func (s slogLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
}
func (s slogLogger) Panic(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	panic(msg)
}

// Fatal logs and ends the process: the server calls it where it cannot go
// on (a service that cannot listen on its port). The message and its tags
// also go to stderr, whatever the logger keeps: tests hand the server
// loggers that drop everything, and the process would end without a word.
func (s slogLogger) Fatal(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	fmt.Fprintf(fatalOut, "temporal server: fatal: %s", msg)
	for _, t := range tags {
		fmt.Fprintf(fatalOut, " %s=%v", t.Key(), t.Value())
	}
	fmt.Fprintln(fatalOut)
	fatalExit(1)
}

// fatalOut and fatalExit are Fatal's stderr and os.Exit (tests replace them).
var (
	fatalOut  io.Writer = os.Stderr
	fatalExit           = os.Exit
)

func (s slogLogger) With(tags ...tag.Tag) log.Logger {
	return slogLogger{l: s.l.With(s.attrs(tags)...), quiet: s.quiet}
}
