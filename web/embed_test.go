package web

import (
	"io/fs"
	"testing"
)

// TestDistRooted: Dist is rooted at dist/, which holds at least the .keep
// that makes it exist in a clone (all: embeds dot-files too), and, once
// the UI is built, index.html beside assets/.
func TestDistRooted(t *testing.T) {
	d := Dist()
	if _, err := fs.Stat(d, ".keep"); err != nil {
		t.Fatalf("Dist has no .keep at its root: %v", err)
	}
	if _, err := fs.Stat(d, "dist"); err == nil {
		t.Fatal("Dist is not rooted at dist/: it holds a dist folder")
	}
	if _, err := fs.Stat(d, "index.html"); err == nil {
		if st, err := fs.Stat(d, "assets"); err != nil || !st.IsDir() {
			t.Errorf("a built UI without an assets folder: %v", err)
		}
	}
}
