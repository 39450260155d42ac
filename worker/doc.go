// Package worker builds the Temporal worker of one task queue: it registers the
// workflows and the activities that belong to that queue under explicit names,
// with their dependencies injected.
//
// It may import workflows, activities and internal packages; api must never
// import it (the API server only starts, signals and queries workflows).
package worker
