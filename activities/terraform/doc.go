// Package terraform is the Terraform integration: the terraform:plan,
// terraform:apply, terraform:output and terraform:destroy actions, each
// run with github.com/hashicorp/terraform-exec on one directory of the
// task's workspace.
//
// It runs only on the rigger-terraform task queue. Terraform gets a
// scrubbed environment (a fixed PATH, a throwaway HOME and TMPDIR, a CLI
// configuration this package writes, the data directory inside the
// step's directory) and nothing of the worker's own environment. Apply
// runs exactly the plan a plan step showed: it refuses a plan file whose
// SHA-256 is not the one the plan step reported.
//
// It must not read the worker's environment, and it does not sandbox
// terraform itself (terraform-exec builds its own exec.Cmd): the
// directory checks confine which directory terraform starts in, not what
// a configuration may read.
package terraform
