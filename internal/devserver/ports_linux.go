package devserver

import (
	"fmt"
	"net"
	"sync"
	"syscall"
)

// reservePort picks a free port on host and holds it until release is
// called (once or more), for the server to listen there meanwhile.
//
// The port is held by a socket that is bound, with SO_REUSEADDR, but does
// not listen. The kernel hands a bound port to no connect() and no bind to
// port 0, and refuses it to a bind without SO_REUSEADDR; a listener that
// sets SO_REUSEADDR (Go's net.Listen, so the Temporal services') may still
// bind and listen on it. A port found free by listening and closing could
// be taken in between, most often as some connection's local port: the
// services then failed to start ("bind: address already in use").
func reservePort(host string) (port int, release func(), err error) {
	ip := net.ParseIP(host)
	if ip == nil {
		return 0, nil, fmt.Errorf("reserve a port: %q is not an IP address", host)
	}
	family := syscall.AF_INET6
	var sa syscall.Sockaddr
	if ip4 := ip.To4(); ip4 != nil {
		family = syscall.AF_INET
		sa = &syscall.SockaddrInet4{Addr: [4]byte(ip4)}
	} else {
		sa = &syscall.SockaddrInet6{Addr: [16]byte(ip.To16())}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("reserve a port on %s: %w", host, err)
	}
	fail := func(step string, err error) (int, func(), error) {
		syscall.Close(fd)
		return 0, nil, fmt.Errorf("reserve a port on %s: %s: %w", host, step, err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return fail("SO_REUSEADDR", err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := got.(type) {
	case *syscall.SockaddrInet4:
		port = a.Port
	case *syscall.SockaddrInet6:
		port = a.Port
	}
	return port, sync.OnceFunc(func() { syscall.Close(fd) }), nil
}
