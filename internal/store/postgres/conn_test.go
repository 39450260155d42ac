package postgres

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// TestConnectionLostMidQuery: a connection to the database that breaks
// while a statement waits for its answer fails as a store.ConnError, the
// mark that tells the API the database is unreachable (and not some other
// network call).
func TestConnectionLostMidQuery(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(freshDB(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startCutProxy(t, u.Host, []byte("task_secrets"))
	u.Host = p.addr()
	s, err := Open(ctx, u.String(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutTaskSecrets(ctx, "task-a", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p.cut.Store(true)
	_, err = s.GetTaskSecrets(ctx, "task-a")
	var ce *store.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("a connection reset under a query: %v (%T), want a store.ConnError", err, err)
	}
}

// cutProxy forwards TCP to a PostgreSQL server; once cut is set, it
// resets the client's connection (RST) on the first bytes holding marker,
// after the client sent them and before any answer.
type cutProxy struct {
	ln  net.Listener
	cut atomic.Bool
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func startCutProxy(t *testing.T, target string, marker []byte) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Go(func() { io.Copy(c, up); c.Close() })
			wg.Go(func() {
				defer up.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 && p.cut.Load() && bytes.Contains(buf[:n], marker) {
						c.(*net.TCPConn).SetLinger(0)
						c.Close()
						return
					}
					if n > 0 {
						if _, err := up.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	return p
}
