// Package contract holds the names and the input/output types of rigger's
// activities: the part of an activity that workflows are allowed to see.
//
// It must stay free of implementations and of I/O: workflows import it, so
// anything here is compiled into deterministic workflow code.
package contract
