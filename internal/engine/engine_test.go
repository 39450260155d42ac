package engine

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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

// wire is a gRPC server on 127.0.0.1 that counts the bytes it reads
// (a stand-in for a frontend's wire, not for its behaviour: it answers
// the health check and GetSystemInfo that dialing makes, and
// DescribeNamespace).
type wire struct {
	workflowservice.UnimplementedWorkflowServiceServer
	read atomic.Int64
}

func (w *wire) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (w *wire) DescribeNamespace(context.Context, *workflowservice.DescribeNamespaceRequest) (*workflowservice.DescribeNamespaceResponse, error) {
	return &workflowservice.DescribeNamespaceResponse{}, nil
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return countingConn{c, l.n}, err
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// TestCompressionOnTheWire dials a gRPC server on 127.0.0.1 with each
// setting and sends it a request of 64 KiB that gzip shrinks to a few
// hundred bytes: auto and none send it whole, gzip compressed.
func TestCompressionOnTheWire(t *testing.T) {
	const size = 64 << 10
	for _, c := range []struct {
		compression string
		gzip        bool
	}{{CompressionAuto, false}, {"", false}, {CompressionNone, false}, {CompressionGzip, true}} {
		t.Run(c.compression, func(t *testing.T) {
			w := &wire{}
			srv := grpc.NewServer()
			workflowservice.RegisterWorkflowServiceServer(srv, w)
			healthpb.RegisterHealthServer(srv, health.NewServer())
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(countingListener{l, &w.read}) //nolint:errcheck // ends with Stop
			defer srv.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl, err := Dial(ctx, Options{Address: l.Addr().String(), Namespace: "default", Compression: c.compression})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			before := w.read.Load()
			if _, err := cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Id: strings.Repeat("n", size)}); err != nil {
				t.Fatal(err)
			}
			sent := w.read.Load() - before
			if compressed := sent < size/4; compressed != c.gzip {
				t.Errorf("a %d-byte request took %d bytes on the wire: compressed %v, want %v", size, sent, compressed, c.gzip)
			}
		})
	}
}
