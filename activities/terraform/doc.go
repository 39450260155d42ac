// Package terraform is the Terraform integration: the terraform:plan,
// terraform:apply, terraform:output and terraform:destroy actions, each
// run with github.com/hashicorp/terraform-exec on one directory of the
// task's workspace.
//
// It runs only on the rigger-terraform task queue. Terraform gets a
// scrubbed environment (a fixed PATH, a throwaway HOME and TMPDIR, a CLI
// configuration this package writes, the data directory inside the
// step's directory) and nothing of the worker's own environment; a step
// that declares AWS access (input aws: {resource, actions}) adds one
// short-lived STS session from the broker, narrowed to what it declared,
// as terraform's only cloud credentials. Providers come only from the
// operator's mirror (or the registry when downloads are allowed). Apply
// runs exactly the plan a plan step showed: it refuses a plan file whose
// SHA-256 is not the one the plan step reported, and applies a private
// copy of the bytes it checked.
//
// With Options.Sandbox every terraform process — and so every provider
// and provisioner it starts — runs in internal/sandbox: terraform-exec
// builds its own exec.Cmd, so it is given the sandbox helper as
// terraform's path (sandbox.Runner.Shim) with the spec in a file of the
// action's private directory; the helper applies Landlock (writes only in
// the task's workspace and the private HOME and TMPDIR; reads also the
// binary, the mirror, the CLI config and the system), no_new_privs and
// rlimits, and an empty network namespace unless the step needs the
// network (an AWS session, a network mirror, registry downloads), then
// execs terraform. That confines what a configuration may read (file(),
// another task's workspace, the worker's files) and reach (module
// sources, providers' downloads), beyond the directory checks.
//
// terraform-exec runs `terraform version` before a handle's first command;
// idle handles are reused across actions (an idle one holds no
// environment), so that runs once per terraform binary through the
// sandbox and once per directory without it, and again whenever the
// binary file changes.
//
// It must not read the worker's environment.
package terraform
