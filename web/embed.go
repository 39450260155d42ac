// Package web holds rigger's browser UI as built files: dist/ is what
// `npm run build` writes (index.html, hashed assets under assets/ with
// precompressed .gz and .br beside them), embedded into the binary.
//
// It only carries the files; how they are served (caching, encodings, the
// page shown when the UI was not built) is the api package's business. It
// must not import any other package of rigger.
package web

import (
	"embed"
	"io/fs"
)

// files is dist/ at build time: only dist/.keep in a clone where the UI
// was never built (api then serves a page saying how to build it).
//
//go:embed all:dist
var files embed.FS

// Dist returns the built UI rooted at dist/: "index.html", "assets/...".
func Dist() fs.FS {
	sub, err := fs.Sub(files, "dist")
	if err != nil { // "dist" is a valid path, so fs.Sub cannot fail
		panic(err)
	}
	return sub
}
