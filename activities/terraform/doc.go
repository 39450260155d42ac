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
// It must not read the worker's environment. It does not sandbox
// terraform itself (terraform-exec builds its own exec.Cmd): the
// directory checks confine which directory terraform starts in, not what
// a configuration may read (file(), module sources) — that is the
// sandbox's job.
package terraform
