// Package workflows holds rigger's deterministic Temporal workflow code.
//
// Determinism rules (enforced in part by the import-rules test):
//   - no I/O: no os, net, net/http, os/exec, database/sql, io/fs; no activity
//     implementations (only activities/contract for names and types);
//   - time only through workflow.Now / workflow.Sleep / workflow.NewTimer, never
//     time.Now or time.Sleep; no math/rand (use workflow.SideEffect);
//   - no `go` statements or `select`: use workflow.Go and workflow.Selector;
//   - iterate maps in sorted order;
//   - change the shape of a running workflow only behind workflow.GetVersion,
//     and keep replay tests of saved histories passing.
package workflows
