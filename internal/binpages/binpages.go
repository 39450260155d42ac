// Package binpages hands back the memory that rigger's own executable
// holds mapped after startup. Package initializers, configuration,
// migrations and the first requests run code and read data that an idle
// process never touches again, and the kernel maps 64 KiB around each page
// a fault reads (fault-around): in an idle rigger server, 50 of its 67 MiB
// of RSS were pages of the binary. Release unmaps the executable's
// read-only pages (text, read-only data); they stay in the page cache, and
// what the process runs again is mapped again at its first touch (a minor
// fault, no disk read while the page is cached). Writable mappings (the
// binary's data) are left alone: a private page written to is the
// process's own copy.
//
// It must not import other rigger packages.
package binpages
