package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/internal/devserver"
)

// TestGzip: auto compresses to a frontend elsewhere, not to one on this
// host; gzip and none are what they say.
func TestGzip(t *testing.T) {
	for _, c := range []struct {
		address, compression string
		want                 bool
	}{
		{"127.0.0.1:7233", "", false},
		{"127.0.0.1:7233", CompressionAuto, false},
		{"127.8.9.10:7233", CompressionAuto, false},
		{"localhost:7233", CompressionAuto, false},
		{"LocalHost.:7233", CompressionAuto, false},
		{"[::1]:7233", CompressionAuto, false},
		{"0.0.0.0:7233", CompressionAuto, false},
		{"[::]:7233", CompressionAuto, false},
		{"[::ffff:127.0.0.1]:7233", CompressionAuto, false},
		{"[::ffff:10.0.0.5]:7233", CompressionAuto, true},
		{"no-port", CompressionAuto, true},
		{"temporal-frontend.temporal.svc:7233", CompressionAuto, true},
		{"localhost.example.com:7233", CompressionAuto, true},
		{"10.0.0.5:7233", "", true},
		{"[2001:db8::1]:7233", CompressionAuto, true},
		{"rigger.a1b2c.tmprl.cloud:7233", CompressionAuto, true},
		{"127.0.0.1:7233", CompressionGzip, true},
		{"temporal.example.com:7233", CompressionNone, false},
	} {
		if got := (Options{Address: c.address, Compression: c.compression}).Gzip(); got != c.want {
			t.Errorf("%s with %q: gzip %v, want %v", c.address, c.compression, got, c.want)
		}
	}
	if _, err := (Options{Address: "127.0.0.1:7233", Namespace: "default", Compression: "zstd"}).ClientOptions(); err == nil {
		t.Error("an unknown compression was accepted")
	}
}

// wire is a TCP proxy on 127.0.0.1 in front of a Temporal frontend that
// counts the bytes going each way.
type wire struct {
	ln       net.Listener
	up, down atomic.Int64 // client → frontend, frontend → client
}

func newWire(t *testing.T, frontend string) *wire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{ln: ln}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f, err := net.Dial("tcp", frontend)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, f)
			mu.Unlock()
			go func() { _, _ = io.Copy(countingWriter{f, &w.up}, c); _ = f.Close() }()
			go func() { _, _ = io.Copy(countingWriter{c, &w.down}, f); _ = c.Close() }()
		}
	}()
	return w
}

// countingWriter counts what it writes as it goes.
type countingWriter struct {
	io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.Writer.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// TestCompressionOnTheWire runs the embedded Temporal server behind a
// counting proxy on 127.0.0.1 and, with each setting, starts a workflow
// whose 64 KiB input gzip shrinks to a few hundred bytes, then reads the
// input back in its history: auto and none send both whole, gzip
// compressed.
func TestCompressionOnTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	const size = 64 << 10
	srv, err := devserver.Start(devserver.Options{DataDir: t.TempDir(), FrontendAddress: "127.0.0.1:0", Namespace: "default",
		Retention: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	frontend := srv.FrontendAddress()
	for i, c := range []struct {
		compression string
		gzip        bool
	}{{CompressionAuto, false}, {"", false}, {CompressionNone, false}, {CompressionGzip, true}} {
		t.Run(c.compression, func(t *testing.T) {
			w := newWire(t, frontend)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cl, err := Dial(ctx, Options{Address: w.ln.Addr().String(), Namespace: "default", Compression: c.compression})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			// Each count is the direction's bytes during one call: a
			// request up, then an answer down.
			up := w.up.Load()
			input := strings.Repeat("i", size)
			run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("wire-%d", i), TaskQueue: "nobody-polls"}, "some-workflow", input)
			if err != nil {
				t.Fatal(err)
			}
			sent := w.up.Load() - up
			down := w.down.Load()
			it := cl.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if n := len(ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0].GetData()); n < size {
				t.Fatalf("the history's input has %d bytes, want over %d", n, size)
			}
			got := w.down.Load() - down
			for _, d := range []struct {
				what string
				n    int64
			}{{"request", sent}, {"answer", got}} {
				if compressed := d.n < size/4; compressed != c.gzip {
					t.Errorf("a %d-byte %s took %d bytes on the wire: compressed %v, want %v", size, d.what, d.n, compressed, c.gzip)
				}
			}
		})
	}
}
