package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// Probe asks the kernel what it offers: the Landlock ABI version, whether a
// child can start in a new user + network namespace (it starts /bin/true
// that way, as [Runner.Command] would start the helper), whether this
// process may make a network namespace without a user namespace and drop
// its capabilities (Report.NetNS), and no_new_privs. It takes a few
// milliseconds; a worker calls it once at start-up.
func Probe() Report {
	var r Report
	abi, err := landlockABI()
	switch {
	case err != nil && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP)):
		r.LandlockErr = "not supported by this kernel or not enabled at boot (CONFIG_SECURITY_LANDLOCK, lsm=landlock)"
	case err != nil:
		r.LandlockErr = "landlock_create_ruleset: " + err.Error()
	case abi < 1:
		r.LandlockErr = "kernel reports no Landlock ABI"
	default:
		r.LandlockABI = abi
	}
	if err := probeNS("CLONE_NEWUSER|CLONE_NEWNET", setNamespaces); err != nil {
		r.UserNetNSErr = err.Error()
	} else {
		r.UserNetNS = true
	}
	r.NetNS = ownNetNSCaps() && probeNS("CLONE_NEWNET", func(a *syscall.SysProcAttr) { a.Cloneflags |= syscall.CLONE_NEWNET }) == nil
	if _, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err == nil {
		r.NoNewPrivs = true
	}
	return r
}

// probeNS starts /bin/true in the namespaces flags names, which set sets.
func probeNS(flags string, set func(*syscall.SysProcAttr)) error {
	tool := ""
	for _, p := range []string{"/bin/true", "/usr/bin/true"} {
		if _, err := os.Stat(p); err == nil {
			tool = p
			break
		}
	}
	if tool == "" {
		return errors.New("no /bin/true to probe with")
	}
	cmd := exec.Command(tool)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	set(cmd.SysProcAttr)
	if err := cmd.Run(); err != nil {
		return errors.New("starting a child with " + flags + ": " + err.Error())
	}
	return nil
}

// ownNetNSCaps says whether this process holds what the helper needs to
// make the network namespace itself and then drop every capability:
// CAP_SYS_ADMIN (unshare) and CAP_SETPCAP (the bounding set).
func ownNetNSCaps() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(unix.CAP_SYS_ADMIN) && has(unix.CAP_SETPCAP)
}

// setNamespaces puts the child in a new user and network namespace in which
// it has the caller's uid and gid (so, not being root, it has no
// capabilities after exec).
func setNamespaces(a *syscall.SysProcAttr) {
	uid, gid := os.Getuid(), os.Getgid()
	a.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	a.GidMappingsEnableSetgroups = false
}
