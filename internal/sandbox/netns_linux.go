package sandbox

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// A worker that holds CAP_SYS_ADMIN (root) cuts a tool off without a user
// namespace: the helper's locked thread, the one that execs the tool,
// enters a new network namespace of its own (namespaces, like Landlock
// domains, belong to the thread, and execve keeps the calling thread's)
// and then gives up every capability, so the tool holds none, as it holds
// none outside the user namespace the other way starts it in. A user
// namespace costs a handshake between parent and child (the parent
// writes the ID maps while the child waits); this costs one system call.

// enterOwnNetNS moves the calling thread into a new network namespace
// that holds only a downed loopback.
func enterOwnNetNS() error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("new network namespace: %w", err)
	}
	return nil
}

// dropCapabilities empties the calling thread's bounding, ambient,
// inheritable, permitted and effective capability sets. A root tool it
// then execs gains none (execve gives root the bounding set, here empty),
// and no_new_privs keeps set-user-ID files from giving any back.
// holdsCapabilities says whether this thread has any permitted or
// effective capability (a root worker's helper does).
func holdsCapabilities() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // unknown: try to drop, which fails closed
	}
	return data[0].Permitted|data[1].Permitted|data[0].Effective|data[1].Effective != 0
}

func dropCapabilities() error {
	for c := 0; ; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break // past the kernel's last capability
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("clear capabilities: %w", err)
	}
	return nil
}
