package templatetest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseFile: any test file gives a File or an error naming the file,
// never a panic.
func FuzzParseFile(f *testing.F) {
	for _, glob := range []string{"testdata/*/template.test.yaml", "testdata/corpus/*.test.yaml", "../../examples/templates/*/template.test.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("cases: [{name: a, expect: {calls: {x: [1]}}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile("fuzz.yaml", data)
		if err == nil && len(file.Cases) == 0 {
			t.Fatal("a file without cases was accepted")
		}
	})
}
