// Package activities implements rigger's Temporal activities: one file per
// action family. Activities are methods on structs whose dependencies (logger,
// clock, clients) are injected by the worker package.
//
// Names and input/output types live in activities/contract so workflows can use
// them without importing implementations. This package must not import api,
// worker or workflows.
package activities
