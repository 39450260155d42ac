package sandbox

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The helper talks to Landlock with the three system calls directly and
// restricts only its own, locked thread, which then execs the tool (the
// new program takes that thread's credentials, Landlock domain and
// no_new_privs included; the helper's other threads end with the exec). A
// library restricting every thread (go-landlock, through psx on kernels
// below ABI 8) costs the helper about 3 ms per tool and a cgo-linked
// binary, for threads that never run the tool.

// landlockABI is the kernel's Landlock ABI version (an error when it has
// none).
func landlockABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

// Access rights by what they apply to.
const (
	fsABI1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	// fileRights are those a rule on a file (not a directory) may hold.
	fileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	readDir  = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	readFile = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE
)

// handledAccess is what a ruleset handles (denies unless a rule allows
// it) on a kernel with ABI abi: every right of ABI 1 to 7 the kernel
// knows; TCP bind and connect unless the tool keeps the network; abstract
// unix sockets and signals outside the sandbox (ABI 6).
func handledAccess(abi int, network bool) unix.LandlockRulesetAttr {
	var a unix.LandlockRulesetAttr
	a.Access_fs = fsABI1
	if abi >= 2 {
		a.Access_fs |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		a.Access_fs |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 4 && !network {
		a.Access_net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= 5 {
		a.Access_fs |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	if abi >= 6 {
		a.Scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
	}
	return a
}

// pathRule is one path and whether the tool may write beneath it.
type pathRule struct {
	path     string
	write    bool
	optional bool // a missing path is skipped
}

// rulesFor lists s's paths with the system's.
func rulesFor(s Spec) []pathRule {
	var rules []pathRule
	add := func(paths []string, write, optional bool) {
		for _, p := range paths {
			rules = append(rules, pathRule{p, write, optional})
		}
	}
	add([]string{s.Dir}, true, false)
	add(s.Writable, true, false)
	add(s.ReadOnly, false, false)
	add([]string{s.Path}, false, false)
	add(systemDirs, false, true)
	add(etcPaths, false, true)
	add(devRW, true, true)
	add(devRO, false, true)
	return rules
}

// applyLandlock restricts the calling thread (locked, about to exec) to
// s's paths, and to no TCP unless s.Network. It never degrades silently:
// without Landlock it fails.
func applyLandlock(s Spec) error {
	abi, err := landlockABI()
	if err != nil || abi < 1 {
		return fmt.Errorf("the kernel has no Landlock (ABI %d: %v)", abi, err)
	}
	attr := handledAccess(abi, s.Network)
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	defer unix.Close(int(fd))
	for _, r := range rulesFor(s) {
		if err := addPathRule(int(fd), r, attr.Access_fs); err != nil {
			return err
		}
	}
	// no_new_privs is set on this thread already (landlock_restrict_self
	// requires it without CAP_SYS_ADMIN).
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}

// addPathRule allows r's access beneath r.path: read (and execute) only,
// or every handled right but device ioctls when r.write; on a file only
// the rights a file can have; device ioctls on a device file.
func addPathRule(ruleset int, r pathRule, handled uint64) error {
	f, err := os.OpenFile(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if r.optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%s: %w", r.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", r.path, err)
	}
	access := uint64(readDir)
	if r.write {
		access = handled &^ unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	if !fi.IsDir() {
		access &= fileRights
		if !r.write {
			access = readFile
		}
		if !fi.Mode().IsRegular() {
			access |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV // isatty on /dev/null and the like
		}
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access & handled, Parent_fd: int32(f.Fd())}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("landlock_add_rule %s: %w", r.path, errno)
	}
	return nil
}
