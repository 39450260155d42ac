// Package devserver runs a complete Temporal server and the Temporal Web UI inside
// the rigger process, persisted in one SQLite file under a data directory. It is
// what `rigger dev` uses so that nothing needs to be installed.
//
// It must not be imported by api, workflows, activities or templates: only cmd
// wires it in, and only into binaries built without the `nodevserver` tag.
package devserver
