package sandbox

import (
	"fmt"
	"strings"
)

// Report is what the kernel offers the sandbox.
type Report struct {
	// LandlockABI is the kernel's Landlock ABI version (0: none).
	LandlockABI int
	// LandlockErr says why there is no Landlock when LandlockABI is 0.
	LandlockErr string
	// UserNetNS is true when an unprivileged user + network namespace can
	// be created for a child (what a no-network Spec needs).
	UserNetNS bool
	// UserNetNSErr says why not.
	UserNetNSErr string
	// NetNS is true when the helper can make the network namespace itself
	// (the worker holds CAP_SYS_ADMIN and CAP_SETPCAP, as root does): it
	// then starts without a user namespace, enters a new network namespace
	// on the thread that execs the tool, and drops every capability from
	// it, so the tool holds none. Cheaper than a user namespace, whose ID
	// maps the parent writes while the child waits.
	NetNS bool
	// NoNewPrivs is true when prctl(PR_SET_NO_NEW_PRIVS) is available.
	NoNewPrivs bool
}

// String is one line for a start-up log.
func (r Report) String() string {
	var b strings.Builder
	if r.LandlockABI > 0 {
		fmt.Fprintf(&b, "landlock ABI %d", r.LandlockABI)
	} else {
		fmt.Fprintf(&b, "landlock unavailable (%s)", r.LandlockErr)
	}
	if r.UserNetNS {
		b.WriteString(", user+net namespaces yes")
	} else {
		fmt.Fprintf(&b, ", user+net namespaces no (%s)", r.UserNetNSErr)
	}
	if r.NetNS {
		b.WriteString(", own net namespace yes")
	}
	if r.NoNewPrivs {
		b.WriteString(", no_new_privs yes")
	} else {
		b.WriteString(", no_new_privs no")
	}
	return b.String()
}

// missing lists what a Spec needs and the report lacks, one phrase each.
func (r Report) missing(s Spec) []string {
	var m []string
	switch {
	case r.LandlockABI == 0:
		m = append(m, "Landlock (file system confinement): "+r.LandlockErr)
	case r.LandlockABI < minLandlockABI:
		// Before ABI 3 Landlock cannot deny truncate(2): a confined tool
		// could empty any file the worker may write (review).
		m = append(m, fmt.Sprintf("Landlock ABI %d confines writes but not truncation (ABI %d, Linux 6.2, is needed)", r.LandlockABI, minLandlockABI))
	}
	if !s.Network && !r.UserNetNS && !r.NetNS {
		m = append(m, "user+network namespaces (network cut-off): "+r.UserNetNSErr)
	}
	if !r.NoNewPrivs {
		m = append(m, "no_new_privs")
	}
	return m
}

// weaker lists, one phrase each, what this kernel leaves a confined tool
// able to do that a newer one would not, without counting as missing
// confinement (a step still runs under sandbox.required): before
// Landlock ABI 6 (Linux 6.12) nothing scopes signals, and every tool runs
// as the worker's uid (root without capabilities for a root worker), so
// it may signal the worker and its other tools (review L4).
func (r Report) weaker() []string {
	if r.LandlockABI >= minLandlockABI && r.LandlockABI < signalScopeABI {
		return []string{fmt.Sprintf("Landlock ABI %d does not scope signals (ABI %d, Linux 6.12, does): a tool may signal the worker, which runs as the same uid", r.LandlockABI, signalScopeABI)}
	}
	return nil
}

// signalScopeABI is the Landlock ABI that adds LANDLOCK_SCOPE_SIGNAL.
const signalScopeABI = 6

// minLandlockABI is the oldest Landlock ABI the sandbox counts as
// confining: 3 adds the right to truncate.
const minLandlockABI = 3
