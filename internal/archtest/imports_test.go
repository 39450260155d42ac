package archtest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/riggerdev/rigger"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -deps`-style loading of every package of the
// module (no compilation) once per test binary.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Name,Doc,Dir,GoFiles,Imports,Deps", module+"/...")
	cmd.Dir = "../.."
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found only %d packages; is the test running in the module?", len(pkgs))
	}
	return pkgs
}

// ioPackages are standard packages that do I/O or give access to time/randomness
// outside a workflow's control.
var ioPackages = []string{
	"os", "os/exec", "os/signal", "net", "net/http", "net/rpc", "io/ioutil", "io/fs",
	"database/sql", "syscall", "path/filepath", "math/rand", "math/rand/v2", "crypto/rand",
	"plugin", "unsafe",
}

type rule struct {
	// applies reports whether the rule covers a package.
	applies func(importPath string) bool
	// noDirect lists packages it must not import directly.
	noDirect []string
	// noDeps lists import-path prefixes that must not appear among all its
	// transitive dependencies.
	noDeps []string
	// except lists packages exempt from noDeps.
	except []string
	// ourDeps, when non-nil, is the allow-list of this module's packages it may
	// depend on (transitively).
	ourDeps []string
	why     string
}

func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			full := module + "/" + pre
			if p == full || strings.HasPrefix(p, full+"/") {
				return true
			}
		}
		return false
	}
}

// serviceLayers are the service-layer packages (ARCHITECTURE.md): between
// api and the store and Temporal client, they may use workflows' names and
// types, which the rest of internal may not.
func serviceLayers() []string { return []string{"internal/tasks", "internal/catalogsvc"} }

// testSupport are packages only tests import: they start real servers
// (a throwaway PostgreSQL, an OpenID provider with known passwords, a
// fake GitHub, pinned tools such as MinIO built once per machine).
func testSupport() []string {
	return []string{"internal/pgtest", "internal/auth/oidctest", "internal/githubfake", "internal/testtools"}
}

func rules() []rule {
	support := make([]string, len(testSupport()))
	for i, p := range testSupport() {
		support[i] = module + "/" + p
	}
	return []rule{
		{
			applies: func(p string) bool { return !under(testSupport()...)(p) },
			noDeps:  support,
			why:     "test-support packages run throwaway servers with known secrets: only _test.go files import them",
		},
		{
			applies: under("workflows"),
			// Transitive standard-library deps are not checked: the SDK itself
			// pulls in net/http and friends. Direct imports are what we control.
			noDirect: ioPackages,
			ourDeps:  []string{"activities/contract", "templates", "internal/searchattr", "internal/errs", "internal/jsnum", "internal/jschema", "internal/runsign"},
			why:      "workflow code is deterministic: no I/O, no activity implementations",
		},
		{
			applies:  under("activities/contract"),
			noDirect: ioPackages,
			ourDeps:  []string{"internal/searchattr", "internal/errs", "templates", "internal/jsnum", "internal/jschema"},
			why:      "activity contracts are compiled into workflows: names and types only",
		},
		{
			applies:  under("templates"),
			noDirect: ioPackages,
			noDeps:   []string{"os/exec", "database/sql"},
			ourDeps:  []string{"internal/jsnum", "internal/jschema"},
			why:      "templates is pure: parsing, validation, expressions, compilation; no I/O",
		},
		{
			applies: under("api"),
			noDeps: []string{
				module + "/worker", module + "/activities/", module + "/internal/devserver",
			},
			except: []string{module + "/activities/contract"},
			why:    "the API server only starts, signals and queries workflows; it never runs steps",
		},
		{
			applies: func(p string) bool {
				return p == module+"/activities" || under("activities")(p) && !under("activities/contract")(p)
			},
			noDeps: []string{module + "/api", module + "/worker", module + "/workflows", module + "/cmd"},
			why:    "activities sit below api, worker and workflows",
		},
		{
			// An interface like api, over the service layer: it may use
			// what the service layer uses, never run steps or serve HTTP.
			applies: under("internal/mcpserver"),
			noDeps: []string{
				module + "/api", module + "/worker", module + "/cmd", module + "/activities/", module + "/internal/devserver",
			},
			except: []string{module + "/activities/contract"},
			why:    "the MCP server is an interface over the service layer (api serves it): it never runs steps",
		},
		{
			applies: func(p string) bool {
				return under("internal")(p) && !under(serviceLayers()...)(p) && !under("internal/mcpserver")(p)
			},
			noDeps: []string{module + "/api", module + "/worker", module + "/workflows", module + "/activities", module + "/cmd"},
			why:    "internal packages are the bottom of the graph",
		},
		{
			applies: under(serviceLayers()...),
			noDeps: []string{
				module + "/api", module + "/worker", module + "/cmd", module + "/activities/", module + "/internal/devserver",
			},
			except: []string{module + "/activities/contract"},
			why:    "the service layer starts, signals, queries and lists workflows (names and types from workflows); it never runs steps and knows no HTTP",
		},
	}
}

// forbids reports whether dep is in r.noDeps (a trailing "/" matches every
// package below) and not exempted.
func (r rule) forbids(dep string) bool {
	if slices.Contains(r.except, dep) {
		return false
	}
	for _, bad := range r.noDeps {
		if dep == bad || strings.HasPrefix(dep, bad+"/") || strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad) {
			return true
		}
	}
	return false
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	for _, p := range pkgs {
		for _, r := range rules() {
			if !r.applies(p.ImportPath) {
				continue
			}
			for _, imp := range p.Imports {
				if slices.Contains(r.noDirect, imp) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.why)
				}
			}
			for _, dep := range p.Deps {
				if r.forbids(dep) {
					t.Errorf("%s depends on %s: %s", p.ImportPath, dep, r.why)
				}
				if r.ourDeps != nil && strings.HasPrefix(dep, module+"/") {
					rel := strings.TrimPrefix(dep, module+"/")
					if !slices.Contains(r.ourDeps, rel) && !r.applies(dep) {
						t.Errorf("%s depends on %s, which is not in its allow-list %v: %s", p.ImportPath, dep, r.ourDeps, r.why)
					}
				}
			}
		}
	}
}

// TestRulesBite makes sure the rules above would catch a violation, so a typo
// in a prefix cannot silently disable them.
func TestRulesBite(t *testing.T) {
	cases := []struct {
		pkg, dep string
	}{
		{module + "/workflows", module + "/activities"},
		{module + "/api", module + "/worker"},
		{module + "/api", module + "/activities/fs"},
		{module + "/templates", "os/exec"},
		{module + "/workflows", module + "/internal/devserver"},
		{module + "/internal/config", module + "/api"},
		{module + "/internal/config", module + "/workflows"},
		{module + "/internal/tasks", module + "/api"},
		{module + "/internal/tasks", module + "/worker"},
		{module + "/internal/tasks", module + "/activities/fs"},
		{module + "/internal/mcpserver", module + "/api"},
		{module + "/internal/mcpserver", module + "/activities/fs"},
		{module + "/cmd/rigger", module + "/internal/auth/oidctest"},
		{module + "/internal/auth", module + "/internal/auth/oidctest"},
		{module + "/api", module + "/internal/pgtest"},
	}
	for _, c := range cases {
		caught := false
		for _, r := range rules() {
			if !r.applies(c.pkg) {
				continue
			}
			if r.forbids(c.dep) {
				caught = true
			}
			if r.ourDeps != nil && strings.HasPrefix(c.dep, module+"/") && !slices.Contains(r.ourDeps, strings.TrimPrefix(c.dep, module+"/")) {
				caught = true
			}
		}
		if !caught {
			t.Errorf("a dependency of %s on %s would not be caught", c.pkg, c.dep)
		}
	}
}

func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc comment saying what it is for and what it must not do", p.ImportPath)
		}
	}
}
