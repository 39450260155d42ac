package sandbox

import (
	"bytes"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLandlockAloneDeniesTCP: when the policy lets a no-network tool run
// without namespaces, Landlock still denies its TCP connects (and the
// listener sees nothing); with Network it connects.
func TestLandlockAloneDeniesTCP(t *testing.T) {
	if abi, err := landlockABI(); err != nil || abi < 4 {
		t.Fatalf("this test needs Landlock ABI 4 (TCP rules); the kernel has %d (%v)", abi, err)
	}
	l := newLayout(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- struct{}{}
			c.Close()
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	noNS := New(Options{Required: false, Probe: func() Report {
		return Report{LandlockABI: 7, UserNetNSErr: "simulated: no namespaces", NoNewPrivs: true}
	}})
	for _, network := range []bool{false, true} {
		s := l.spec(exe, "probe-net", ln.Addr().String(), "127.0.0.1:9")
		s.ReadOnly = []string{exe}
		s.Network = network
		res := run(t, noNS, s)
		if !network {
			if res.ExitCode != 3 || !bytes.Contains(res.Stderr, []byte("connect: permission denied")) {
				t.Fatalf("without namespaces nor Network: exit %d, stderr %q; want Landlock's permission denied", res.ExitCode, res.Stderr)
			}
			select {
			case <-conns:
				t.Fatal("the listener got a connection from a no-network tool")
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if res.ExitCode != 0 {
			t.Fatalf("with Network: exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
	}
}

func TestHandledAccess(t *testing.T) {
	for _, c := range []struct {
		abi         int
		network     bool
		fs, nt, scp uint64
	}{
		{1, false, fsABI1, 0, 0},
		{3, false, fsABI1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE, 0, 0},
		{4, false, fsABI1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE, unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, 0},
		{4, true, fsABI1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE, 0, 0},
		{7, false, fsABI1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV,
			unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL},
	} {
		a := handledAccess(c.abi, c.network)
		if a.Access_fs != c.fs || a.Access_net != c.nt || a.Scoped != c.scp {
			t.Errorf("ABI %d network %v: %+v, want fs %#x net %#x scoped %#x", c.abi, c.network, a, c.fs, c.nt, c.scp)
		}
	}
}
