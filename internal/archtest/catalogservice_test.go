package archtest

import (
	"go/ast"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// apiWiringFiles build the service layers from the server's deps: they
// alone in api may hold the catalog store (and hand it to a service).
func apiWiringFiles() []string { return []string{"server.go", "taskservice.go", "catalogservice.go"} }

// TestCatalogHandlersUseTheServiceLayer: outside the wiring files, no api
// code touches the catalog store (deps.Catalog.Store: its reads and writes
// of entities and locations) or asks a permission policy directly
// (Authorize, EntityFilter): the catalog's operations and decisions are
// internal/catalogsvc's (ARCHITECTURE.md, "one service layer"). The
// catalog handlers do not reach Temporal either.
func TestCatalogHandlersUseTheServiceLayer(t *testing.T) {
	dir := filepath.Join("..", "..", "api")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		checked++
		for _, problem := range catalogBypasses(t, f, slices.Contains(apiWiringFiles(), filepath.Base(f))) {
			t.Errorf("%s: catalog operations and their authorization go through internal/catalogsvc", problem)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d api files checked; is the test running in the module?", checked)
	}
	for _, problem := range temporalUses(t, filepath.Join(dir, "catalog.go")) {
		t.Errorf("%s: catalog operations go through internal/catalogsvc", problem)
	}
}

// catalogBypasses lists a file's uses of X.Catalog.Store (unless wiring)
// and its calls of methods named Authorize or EntityFilter.
func catalogBypasses(t *testing.T, path string, wiring bool) []string {
	t.Helper()
	fset, file := parseGo(t, path)
	var problems []string
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.SelectorExpr); ok && !wiring && n.Sel.Name == "Store" && x.Sel.Name == "Catalog" {
				problems = append(problems, fset.Position(n.Pos()).String()+": uses the catalog store")
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Authorize" || sel.Sel.Name == "EntityFilter") {
				problems = append(problems, fset.Position(n.Pos()).String()+": asks the policy ("+sel.Sel.Name+")")
			}
		}
		return true
	})
	return problems
}

// TestCatalogBypassScanBites feeds the scan a handler that reads the store
// and asks the policy itself, and the same as a wiring file.
func TestCatalogBypassScanBites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.go")
	src := "package api\n" +
		"func (s *Server) f() {\n" +
		"\tst := s.deps.Catalog.Store\n" +
		"\t_, _ = st.EntityByRef(nil, \"\")\n" +
		"\ts.deps.Policy.Authorize(p, a, r)\n" +
		"\t_, _ = s.deps.Policy.EntityFilter(p, a)\n" +
		"}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := catalogBypasses(t, path, false); len(got) != 3 {
		t.Fatalf("want 3 problems (the store, Authorize, EntityFilter), got %d: %v", len(got), got)
	}
	if got := catalogBypasses(t, path, true); len(got) != 2 {
		t.Fatalf("a wiring file may hold the store but not ask the policy: want 2 problems, got %d: %v", len(got), got)
	}
}
