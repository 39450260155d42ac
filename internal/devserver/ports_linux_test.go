package devserver

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
)

// ipLocalPortRange is Linux's IP_LOCAL_PORT_RANGE socket option (6.3+):
// the ports a connect() on that socket may take its local port from.
const ipLocalPortRange = 51

// dialFrom dials addr from a socket whose local port can only be port.
func dialFrom(addr string, port int) (net.Conn, error) {
	var optErr error
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		if err := c.Control(func(fd uintptr) {
			optErr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipLocalPortRange, port|port<<16)
		}); err != nil {
			return err
		}
		return optErr
	}}
	c, err := d.Dial("tcp4", addr)
	if optErr != nil {
		return nil, &net.OpError{Op: "setsockopt IP_LOCAL_PORT_RANGE", Err: optErr}
	}
	return c, err
}

// TestReservedPortNotTaken: while reservePort holds a port, no connection
// takes it as its local port and a bind without SO_REUSEADDR is refused,
// yet a listener such as the Temporal services' (net.Listen) can listen
// there; once released, connections may take it again. A port picked by
// listening and closing was free to any connection in between, the cause
// of a start failing with "bind: address already in use".
func TestReservedPortNotTaken(t *testing.T) {
	target, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	port, release, err := reservePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	c, err := dialFrom(target.Addr().String(), port)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "setsockopt IP_LOCAL_PORT_RANGE" {
		t.Skipf("LOUD SKIP: this kernel has no IP_LOCAL_PORT_RANGE (Linux 6.3+), so a connection cannot be made to want the reserved port: %v", err)
	}
	if err == nil {
		c.Close()
		t.Fatalf("a connection took the reserved port %d as its local port", port)
	}
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("a connection limited to the reserved port %d: %v; want EADDRNOTAVAIL", port, err)
	}

	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	syscall.Close(fd)
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("a bind without SO_REUSEADDR to the reserved port: %v; want EADDRINUSE", err)
	}

	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("a listener cannot use the reserved port: %v", err)
	}
	in, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("dial the listener on the reserved port: %v", err)
	}
	in.Close()
	l.Close()

	release()
	released = true
	c, err = dialFrom(target.Addr().String(), port)
	if err != nil {
		t.Fatalf("after release, a connection cannot take port %d: %v", port, err)
	}
	if got := c.LocalAddr().(*net.TCPAddr).Port; got != port {
		t.Errorf("after release the connection's local port is %d, want %d", got, port)
	}
	c.Close()
}

// TestReservePortIPv6: ports are reserved on an IPv6 host too (a
// frontend address such as [::1]:7233), and a listener can use them.
func TestReservePortIPv6(t *testing.T) {
	if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("LOUD SKIP: no IPv6 loopback here: %v", err)
	} else {
		l.Close()
	}
	port, release, err := reservePort("::1")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	l, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("a listener cannot use the reserved port: %v", err)
	}
	l.Close()
	if _, _, err := reservePort("localhost"); err == nil {
		t.Error("a host name was reserved on; want an error saying it is not an IP address")
	}
}

// TestServerConfigHoldsItsPorts: the ports the server's configuration
// names for history, matching, worker and the frontend's HTTP are held
// (a plain bind is refused) until release, and free after it.
func TestServerConfigHoldsItsPorts(t *testing.T) {
	cfg, release, err := serverConfig("127.0.0.1", 7233, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ports := []int{cfg.Services["frontend"].RPC.HTTPPort}
	for _, svc := range []string{"history", "matching", "worker"} {
		ports = append(ports, cfg.Services[svc].RPC.GRPCPort)
	}
	plainBind := func(port int) error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		return syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	}
	for _, p := range ports {
		if err := plainBind(p); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("port %d of the configuration is not held: a plain bind gave %v", p, err)
		}
	}
	release()
	for _, p := range ports {
		if err := plainBind(p); err != nil {
			t.Errorf("port %d is still held after release: %v", p, err)
		}
	}
}
