package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// taskHandlerFiles are the api files that serve the scaffolder's tasks:
// they reach tasks only through internal/tasks, which decides who may do
// what (ARCHITECTURE.md, "one service layer").
func taskHandlerFiles() []string {
	return []string{"scaffolder.go", "workspace.go", "eventstream.go", "dryrunbody.go"}
}

// TestTaskHandlersUseTheServiceLayer: the task handlers neither import a
// Temporal package nor touch the server's Temporal client.
func TestTaskHandlersUseTheServiceLayer(t *testing.T) {
	for _, f := range taskHandlerFiles() {
		for _, problem := range temporalUses(t, filepath.Join("..", "..", "api", f)) {
			t.Errorf("%s: task operations go through internal/tasks", problem)
		}
	}
}

// temporalUses lists a file's imports of go.temporal.io packages and its
// uses of a field named Temporal (the server's client).
func temporalUses(t *testing.T, path string) []string {
	t.Helper()
	fset, file := parseGo(t, path)
	var problems []string
	for _, imp := range file.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, "go.temporal.io/") {
			problems = append(problems, fset.Position(imp.Pos()).String()+": imports "+p)
		}
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Temporal" {
			problems = append(problems, fset.Position(sel.Pos()).String()+": uses the Temporal client")
		}
		return true
	})
	return problems
}

// TestTemporalUseScanBites feeds the scan a handler that calls Temporal.
func TestTemporalUseScanBites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.go")
	src := "package api\nimport \"go.temporal.io/sdk/client\"\nvar _ client.Client\nfunc (s *Server) f() { s.deps.Temporal.SignalWorkflow(nil, \"\", \"\", \"\", nil) }\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := temporalUses(t, path); len(got) != 2 {
		t.Fatalf("want 2 problems (the import, the client), got %d: %v", len(got), got)
	}
}

// parseGo parses the Go file at path, failing the test if it cannot.
func parseGo(t *testing.T, path string) (*token.FileSet, *ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fset, file
}
