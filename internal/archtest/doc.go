// Package archtest holds only tests: they enforce the import graph written in
// shared/ARCHITECTURE.md (which package may import what), the determinism
// rules of workflow code, and that every package says what it is for. It has
// no code of its own and nothing may import it.
package archtest
