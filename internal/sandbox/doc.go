// Package sandbox starts a tool (git, terraform, a provider) confined to one
// task's workspace: the worker re-executes itself as `<exe> sandbox-exec`,
// which sets no_new_privs and rlimits, applies Landlock (read-write only in the
// workspace and the caller's temp dirs; read-only in system directories and a
// short list of /etc files), and then execs the tool with exactly the
// environment the caller gave. When the step needs no network the tool
// runs in a new network namespace, so it sees only a downed loopback: a
// worker holding CAP_SYS_ADMIN (root) has the helper make it on the thread
// that execs the tool, which then drops every capability (one system call,
// no user namespace, no second process); any other worker starts the
// helper in a new user and network namespace.
//
// The package must not confine the worker itself (Landlock is irreversible and
// per process): restrictions are only ever applied in the re-executed helper.
// It never reads the worker's environment for the tool, and never puts the
// Spec (which may hold a step's credentials in Env) in argv or the environment:
// the Spec travels as JSON in a memfd inherited as fd 3.
//
// A tool that a library starts itself (terraform through terraform-exec,
// which builds its own exec.Cmd and replaces its attributes) goes through
// [Runner.Shim]: the library is handed the helper as the tool's path and
// [ShimEnv] in the tool's environment, naming a spec file the tool cannot
// write; the helper confines and execs the tool with the library's
// arguments and environment. When the tool needs no network and the
// worker may not make a network namespace itself (not root), the helper
// confines its own thread instead and starts the tool from it in a new
// user and network namespace without ID maps, then waits for it.
//
// # A tool in a user namespace without ID maps
//
// That last start saves a second helper process (about 1.7 ms of CPU per
// terraform process); it was taken after this analysis, whose facts were
// measured on Linux 6.18 with Landlock ABI 7, no Yama and no seccomp
// filter (TestShimNonRootWorker, TestCapabilitiesInANestedUserNamespace
// and the terraform package's sandbox tests check the main ones on every
// run; the others were measured once, with a probe in C):
//
//   - Identity: the tool runs as the worker's uid. The namespace only
//     shows it, and every file's owner, as 65534; the kernel checks file
//     modes against the real uid, and Landlock's path rules are the same,
//     so the tool reads and writes exactly what it would in a namespace
//     mapping the worker's uid to itself.
//   - Capabilities: a new user namespace's first process holds every
//     capability in it, here only in Go's fork code until the exec. The
//     tool is not root in its namespace, so the exec leaves it none
//     (effective, permitted, inheritable, ambient: 0). The bounding set
//     stays full, as it does in a mapped namespace; it only matters to
//     file capabilities and set-user-ID files, which no_new_privs
//     disables.
//   - A full set in a user namespace is one unshare(2) away for any
//     sandboxed tool, in either design, so starting the tool in such a
//     namespace gives it nothing new. Measured with every capability in a
//     namespace of its own, under the sandbox: a new mount namespace is
//     allowed, but mount, bind mounts, remounts and propagation changes
//     fail (Landlock forbids changing the filesystem topology), umount of
//     an inherited mount fails (locked), chroot works (Landlock still
//     checks every path). A new network namespace, its loopback brought
//     up and raw sockets work, with no route out; TCP bind and connect
//     stay denied by Landlock, and there is no way back to the worker's
//     namespace (/proc is not readable; setns would need CAP_SYS_ADMIN
//     over it). Writing its own uid_map fails (no /proc). no_new_privs
//     cannot be cleared and the Landlock domain cannot be left.
//     Signalling or tracing processes outside the domain fails.
//   - The kernel code that capabilities in a user namespace reach
//     (netfilter, for one) is reachable that way by any tool: this
//     sandbox installs no seccomp filter. Denying CLONE_NEWUSER with
//     seccomp would close it for both designs; not done yet.
//   - The helper that waits: it shares the tool's confinement
//     (no_new_privs, Landlock, where before it was not confined) but not
//     its rlimits, which are per process: RLIMIT_NPROC counts the
//     helper's threads with the uid's, and a helper unable to make a
//     thread would abort and take the tool with it. The tool is started
//     traced (PTRACE_TRACEME), so it stops at its exec, before its first
//     instruction; the helper sets its rlimits with prlimit(2) and
//     detaches. Where Yama forbids PTRACE_TRACEME (ptrace_scope 2 or 3)
//     the helper falls back to taking the rlimits itself. It stays in
//     the worker's network namespace.
//   - A PID namespace: the tool is also PID 1 of a new PID namespace, so
//     when it ends (or the helper dies and takes it along through
//     PR_SET_PDEATHSIG, as when terraform-exec kills the helper on a
//     cancelled step) the kernel kills everything left in it: a
//     provisioner's background command, a provider, a process that left
//     the session or cleared its own death signal cannot go on changing
//     the workspace after its step. PID 1 ignores a signal it has no
//     handler for (SIGKILL from the helper's namespace aside): a Go tool
//     such as terraform always has the runtime's, so the interrupt the
//     helper forwards still ends it; a tool without one (a shell) outlives
//     the interrupt until the library kills the helper. Orphans are
//     reparented to the tool, which may leave them as zombies until it
//     ends. /proc stays the worker's (no new mount), which Landlock keeps
//     the tool from reading anyway. It costs no measurable CPU per start
//     (BenchmarkShimExec/netns-userns: about 3.5 to 4 ms with and
//     without). The other starts (a root worker, a step with the network)
//     exec the tool in the helper's place and get no PID namespace: there
//     a grandchild that leaves the process group outlives a cancelled step. The tool cannot use it
//     to reach that network: the kernel refuses ptrace, memory reads and
//     descriptor theft from a child user namespace into its parent
//     without CAP_SYS_PTRACE there, and the helper is made non-dumpable,
//     which refuses them again. Being in the same Landlock domain, the
//     tool may signal it: that only ends its own run.
//   - Signals on older kernels: the signal scope (LANDLOCK_SCOPE_SIGNAL)
//     arrived with Landlock ABI 6, Linux 6.12. Below it nothing but the
//     uid check stands between a tool and the worker's processes, and the
//     tool runs as the worker's uid (root without capabilities for a root
//     worker, which the kernel lets signal root's processes too), so it
//     may kill or stop the worker and its other tools. Every run on such
//     a kernel carries a warning saying so; sandbox.required does not
//     refuse it (only Landlock below ABI 3, namespaces and no_new_privs
//     count as missing). Running the worker as a uid of its own, apart
//     from its tools, would close it; not done.
//
// Wiring: the binary's entry point calls [ShimMain] when [ShimEnv] is set
// and [Main] when os.Args[1] is [ExecArg], before any other start-up;
// workers build a [Runner] with [New] from the operator's policy
// ([Options]) and start tools with [Runner.Command], [Runner.Run] or
// [Runner.Shim]. [Probe] says what this kernel offers.
package sandbox
