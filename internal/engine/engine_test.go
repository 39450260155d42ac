package engine

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	namespacepb "go.temporal.io/api/namespace/v1"
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

// wire is a gRPC server on 127.0.0.1 that counts the bytes it reads and
// writes (a stand-in for a frontend's wire, not for its behaviour: it
// answers the health check and GetSystemInfo that dialing makes, and
// DescribeNamespace with a 64 KiB description).
type wire struct {
	workflowservice.UnimplementedWorkflowServiceServer
	read, written atomic.Int64
}

const wireMessage = 64 << 10

func (w *wire) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (w *wire) DescribeNamespace(context.Context, *workflowservice.DescribeNamespaceRequest) (*workflowservice.DescribeNamespaceResponse, error) {
	return &workflowservice.DescribeNamespaceResponse{NamespaceInfo: &namespacepb.NamespaceInfo{Description: strings.Repeat("d", wireMessage)}}, nil
}

type countingListener struct {
	net.Listener
	w *wire
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return countingConn{c, l.w}, err
}

type countingConn struct {
	net.Conn
	w *wire
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.w.read.Add(int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.w.written.Add(int64(n))
	return n, err
}

// TestCompressionOnTheWire dials a gRPC server on 127.0.0.1 with each
// setting and sends it a request of 64 KiB that gzip shrinks to a few
// hundred bytes, answered with as much: auto and none send both whole,
// gzip compressed.
func TestCompressionOnTheWire(t *testing.T) {
	const size = wireMessage
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
			go srv.Serve(countingListener{l, w}) //nolint:errcheck // ends with Stop
			defer srv.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl, err := Dial(ctx, Options{Address: l.Addr().String(), Namespace: "default", Compression: c.compression})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			read, written := w.read.Load(), w.written.Load()
			resp, err := cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Id: strings.Repeat("n", size)})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetNamespaceInfo().GetDescription()) != size {
				t.Fatalf("the answer lost its description: %d bytes", len(resp.GetNamespaceInfo().GetDescription()))
			}
			for _, d := range []struct {
				what string
				n    int64
			}{{"request", w.read.Load() - read}, {"answer", w.written.Load() - written}} {
				if compressed := d.n < size/4; compressed != c.gzip {
					t.Errorf("a %d-byte %s took %d bytes on the wire: compressed %v, want %v", size, d.what, d.n, compressed, c.gzip)
				}
			}
		})
	}
}
