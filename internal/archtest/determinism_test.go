package archtest

import (
	"go/ast"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forbiddenCalls are package-level functions workflow code must not call: they
// read the wall clock or block the goroutine outside the SDK's control.
var forbiddenCalls = map[string][]string{
	"time": {"Now", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker", "Since", "Until"},
}

// TestWorkflowDeterminism scans workflow sources for wall-clock calls, `go`
// statements and `select` statements, which break replay.
func TestWorkflowDeterminism(t *testing.T) {
	scanned := 0
	for _, p := range listPackages(t) {
		if !under("workflows")(p.ImportPath) {
			continue
		}
		scanned += len(p.GoFiles)
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			for _, problem := range determinismProblems(t, path) {
				t.Errorf("%s", problem)
			}
		}
	}
	// A filter that matches nothing (a renamed package, a changed module
	// path) would pass while scanning nothing.
	if scanned == 0 {
		t.Fatal("the determinism scan matched no workflow source file: fix the package filter")
	}
}

func determinismProblems(t *testing.T, path string) []string {
	t.Helper()
	fset, file := parseGo(t, path)
	imported := map[string]string{} // local name -> import path
	for _, imp := range file.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		name := filepath.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imported[name] = p
	}
	var problems []string
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			problems = append(problems, fset.Position(n.Pos()).String()+": go statement in workflow code; use workflow.Go")
		case *ast.SelectStmt:
			problems = append(problems, fset.Position(n.Pos()).String()+": select statement in workflow code; use workflow.Selector")
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			for _, fn := range forbiddenCalls[imported[id.Name]] {
				if n.Sel.Name == fn {
					problems = append(problems, fset.Position(n.Pos()).String()+": "+imported[id.Name]+"."+fn+" in workflow code; use workflow.Now/Sleep/NewTimer")
				}
			}
		}
		return true
	})
	return problems
}

// TestDeterminismScanBites feeds the scanner a bad file.
func TestDeterminismScanBites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.go")
	src := "package workflows\nimport t \"time\"\nfunc f() { _ = t.Now(); go f(); select {} }\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := determinismProblems(t, path); len(got) != 3 {
		t.Fatalf("want 3 problems (time.Now, go, select), got %d: %v", len(got), got)
	}
}
