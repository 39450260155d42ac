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
// arguments and environment, first starting a child in new namespaces
// when the tool needs no network.
//
// Wiring: the binary's entry point calls [ShimMain] when [ShimEnv] is set
// and [Main] when os.Args[1] is [ExecArg], before any other start-up;
// workers build a [Runner] with [New] from the operator's policy
// ([Options]) and start tools with [Runner.Command], [Runner.Run] or
// [Runner.Shim]. [Probe] says what this kernel offers.
package sandbox
