//go:build !linux

package devserver

import (
	"fmt"
	"net"
)

// reservePort, where a bound socket does not let another socket listen
// on its port (the BSDs, without SO_REUSEPORT on both): a port found free
// and held by nothing, so another process may take it before the server
// listens there.
func reservePort(host string) (int, func(), error) {
	if net.ParseIP(host) == nil {
		return 0, nil, fmt.Errorf("reserve a port: %q is not an IP address", host)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, nil, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, func() {}, nil
}
