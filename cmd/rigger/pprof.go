package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// startProfiler serves Go's profiler on addr (RIGGER_PPROF_LISTEN) for
// operators chasing a performance problem. Only loopback addresses are
// accepted: profiles expose memory contents.
func startProfiler(addr string, logger *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("RIGGER_PPROF_LISTEN: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("RIGGER_PPROF_LISTEN %s: only a loopback address is allowed", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("RIGGER_PPROF_LISTEN: %w", err)
	}
	logger.Warn("profiler listening", "addr", ln.Addr().String())
	go http.Serve(ln, mux) //nolint:errcheck // ends with the process
	return nil
}
