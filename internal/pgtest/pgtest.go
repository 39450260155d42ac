// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// PostgreSQL 15 binaries, a fresh cluster in a temp dir, listening on
// 127.0.0.1 only, run as a non-root user (PostgreSQL refuses root), with
// durability off for speed. Only test code imports it.
//
// When the binaries are missing it reports that loudly; under CI (CI=true)
// that is a failure, never a silent skip.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BinDirs are where PostgreSQL server binaries are looked for, in order;
// $RIGGER_PG_BIN overrides.
func BinDirs() []string {
	if d := os.Getenv("RIGGER_PG_BIN"); d != "" {
		return []string{d}
	}
	return []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"}
}

// ErrUnavailable means no PostgreSQL server binaries were found.
var ErrUnavailable = errors.New("postgresql server binaries not found")

// Server is a running throwaway PostgreSQL.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan error
	log  *bytes.Buffer
	// settings are the server's settings after the test defaults.
	settings []string
}

// PeerSettings are the settings shared/peers/backstage/pg.sh gives the
// PostgreSQL that the Backstage peer is benchmarked on (StartPeer).
var PeerSettings = []string{"shared_buffers=256MB", "max_connections=300", "fsync=on", "synchronous_commit=on", "full_page_writes=on"}

// Start initialises a cluster and starts it, set up for tests: no fsync, a
// small cache and the C collation (faster; durability is not what tests
// check). Call Stop when done.
func Start(ctx context.Context) (*Server, error) {
	return start(ctx, []string{"-E", "UTF8", "--no-sync", "--locale=C"}, nil)
}

// StartPeer is Start set up as the Backstage peer's server
// (shared/peers/backstage/pg.sh): initdb with the environment's locale
// (its collation: C.UTF-8 here, which PostgreSQL compares through libc,
// slower than C), and PeerSettings (its buffers; fsync and synchronous
// commits on). UTF8 whatever the locale (pg.sh gets it from C.UTF-8). A
// benchmark that compares with the peer starts its server so.
func StartPeer(ctx context.Context) (*Server, error) {
	return start(ctx, []string{"-E", "UTF8"}, PeerSettings)
}

// start initialises a cluster with initdb's extra arguments and starts it
// with settings ("name=value", PostgreSQL's -c) after the test defaults,
// which they override.
func start(ctx context.Context, initdbArgs, settings []string) (*Server, error) {
	bin := ""
	for _, d := range BinDirs() {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		return nil, fmt.Errorf("%w in %v (install postgresql-15 or set RIGGER_PG_BIN)", ErrUnavailable, BinDirs())
	}
	reap(os.TempDir())
	dir, err := os.MkdirTemp("", "rigger-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, done: make(chan error, 1), log: &bytes.Buffer{}, settings: settings}
	if err := markOwner(dir); err != nil {
		s.cleanup()
		return nil, err
	}
	cred, err := nonRoot(dir)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), append([]string{"-D", data, "-U", "rigger", "--auth=trust"}, initdbArgs...)...)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// The port is picked free but may be taken before postgres binds it
	// (parallel test packages start servers too): a postgres that could
	// not bind is started again on another port.
	for attempt := 1; ; attempt++ {
		err := s.startOn(bin, data, cred)
		if err == nil {
			return s, nil
		}
		if attempt == 3 || !strings.Contains(s.log.String(), "could not bind") {
			s.cleanup()
			return nil, err
		}
		s.log.Reset()
		s.done = make(chan error, 1)
	}
}

// startOn starts postgres on a free port and waits until it accepts
// queries: its postmaster.pid says "ready" for this port, as pg_ctl -w
// checks (a TCP connect alone could reach whoever else took the port, or
// a server still starting up).
func (s *Server) startOn(bin, data string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	args := []string{"-D", data,
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "unix_socket_directories=" + s.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=100", "-c", "shared_buffers=64MB"}
	for _, kv := range s.settings {
		args = append(args, "-c", kv)
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ready(data, port) {
			return nil
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("postgres exited: %v\n%s", err, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("postgres did not listen on %s within 30s\n%s", s.Addr(), s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the postmaster's process id; its backends are its children.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// DSN returns a connection URL for database db as the superuser "rigger".
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://rigger@%s/%s?sslmode=disable", s.Addr(), db)
}

// Stop stops the server (fast shutdown) and removes its files.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	s.cleanup()
}

// ready reports whether data's postmaster.pid records a server accepting
// connections on port (line 4: port, line 8: status).
func ready(data string, port int) bool {
	raw, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(raw), "\n")
	return len(lines) >= 8 && strings.TrimSpace(lines[3]) == strconv.Itoa(port) && strings.TrimSpace(lines[7]) == "ready"
}

func (s *Server) cleanup() { _ = os.RemoveAll(s.dir) }

// nonRoot returns the credentials to run PostgreSQL with: the current user
// unless that is root, else the "postgres" (or "nobody") user, who is given
// the temp dir.
func nonRoot(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if u == nil {
		return nil, fmt.Errorf("running as root and no postgres/nobody user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
