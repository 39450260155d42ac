// Package templatetest runs a template's test cases offline, for
// `rigger template test`: the real Scaffold workflow and the real pure
// actions (fetch from local skeletons, fs:*, debug:*, catalog:write) in the
// SDK's in-process workflow environment (worker.DryRunner), with recording
// fakes for every action that reaches outside the workspace (publish:*,
// github:*, aws:*, terraform:*, catalog:register) and a fixture of
// entities for catalog:fetch. It reads test files, checks expectations and
// writes reports; it never reaches the network, a Temporal service or a
// catalog, and never prints a case's secrets.
package templatetest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// File is one test file: the template it tests and its cases.
type File struct {
	Path string // as found (relative to the working directory, or absolute)
	// Template is the template file, relative to the working directory
	// like Path (default: template.yaml beside the test file, or in the
	// folder above for tests/*.yaml).
	Template string
	// TemplateOutside: the file's template: leaves the template's folder
	// (the test file's, or the one above tests/); Runner refuses it unless
	// told otherwise.
	TemplateOutside bool
	Cases           []Case
}

// Case is one run of the template and what it must show.
type Case struct {
	Name string
	Line int
	// TemplateName picks a template by metadata.name in a file of several.
	TemplateName string
	Values       map[string]any
	Secrets      map[string]string
	UserRef      string
	UserEntity   map[string]any
	// Entities are what catalog:fetch finds.
	Entities []map[string]any
	// Fakes are the outputs (or errors) of faked actions, by step id or
	// action name (a step id wins).
	Fakes map[string]Fake
	// Fetch are the case's fetch fakes: a skeleton url a fetch:* step
	// asks for that a test cannot read (remote, or relative and leaving
	// the template's folder), and the local folder (or file) read instead,
	// relative to the test file, or FetchRecord (an empty skeleton; the
	// fetch is only recorded). A remote url not listed fails the step.
	Fetch  map[string]string
	Expect Expect
}

// FetchRecord as a fetch fake's folder: the fetch gets an empty skeleton
// and is only recorded.
const FetchRecord = "record"

// Fake is what a faked action returns for a case.
type Fake struct {
	Output map[string]any
	Error  string
}

// Expect is what a case checks; unset fields are not checked.
type Expect struct {
	// Steps are step statuses by step id: completed, skipped, failed,
	// cancelled, or open (never started).
	Steps map[string]string
	// Outputs are step outputs by step id; each must be contained in the
	// step's output (maps compare by their listed keys).
	Outputs map[string]map[string]any
	// Output must be contained in the run's output.
	Output map[string]any
	// Snapshot is a folder, relative to the test file, holding exactly
	// the files the run produces.
	Snapshot string
	// Log lines that must appear (each a substring of some line) and
	// that must not.
	Log, NotLog []string
	// Error: the run (or its input) must fail with an error containing it.
	Error string
	// Calls are the calls of faked actions, by action name or step id:
	// their number, and each call's input must contain the one listed.
	Calls map[string][]map[string]any
}

// Step statuses a case may expect.
var stepStatuses = []string{"completed", "skipped", "failed", "cancelled", "open"}

// yamlLimits bound a test file.
var yamlLimits = yamlsafe.Limits{MaxDepth: 64, MaxStringLength: 1 << 20}

// maxTestFile is the largest test file read.
const maxTestFile = 4 << 20

// Discover lists the test files of args: a folder is searched for
// template.test.yaml files and tests/*.yaml beside a template.yaml; a test
// file is taken as it is; a template file brings the tests beside it.
func Discover(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if isTestFile(arg) {
				add(arg)
				continue
			}
			found := testsBeside(filepath.Dir(arg))
			if len(found) == 0 {
				return nil, fmt.Errorf("%s: no tests beside it (write template.test.yaml or tests/*.yaml next to the template)", arg)
			}
			for _, f := range found {
				add(f)
			}
			continue
		}
		var found []string
		// A trailing separator makes the walk follow a folder given as
		// a symbolic link.
		root := strings.TrimSuffix(arg, string(filepath.Separator)) + string(filepath.Separator)
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() {
				if _, err := os.Stat(filepath.Join(p, "template.yaml")); err == nil {
					found = append(found, testsBeside(p)...)
				}
				return nil
			}
			if d.Name() == "template.test.yaml" && !seen[p] {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, f := range found {
			add(f)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no template tests found (template.test.yaml or tests/*.yaml beside a template.yaml)", arg)
		}
	}
	return out, nil
}

// isTestFile says whether path names a test file rather than a template.
func isTestFile(path string) bool {
	base := filepath.Base(path)
	return strings.HasSuffix(base, ".test.yaml") || strings.HasSuffix(base, ".test.yml") ||
		filepath.Base(filepath.Dir(path)) == "tests" && (strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml"))
}

// testsBeside lists the test files of the template folder dir.
func testsBeside(dir string) []string {
	var out []string
	if _, err := os.Stat(filepath.Join(dir, "template.test.yaml")); err == nil {
		out = append(out, filepath.Join(dir, "template.test.yaml"))
	}
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(dir, "tests", pat))
		out = append(out, m...)
	}
	return out
}

// LoadFile reads and checks one test file. Errors name the file, the line
// and the field.
func LoadFile(path string) (*File, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxTestFile {
		return nil, fmt.Errorf("%s: %d bytes, larger than the limit of %d", path, info.Size(), maxTestFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(path, data)
}

// ParseFile reads a test file's content; path names it in errors and
// places the default template.
func ParseFile(path string, data []byte) (*File, error) {
	docs, err := yamlsafe.Documents(data)
	if err != nil {
		// "line 3: did not find …" becomes "file:3: did not find …".
		msg := err.Error()
		var line int
		if _, serr := fmt.Sscanf(msg, "line %d:", &line); serr == nil {
			_, rest, _ := strings.Cut(msg, ":")
			return nil, fmt.Errorf("%s:%d:%s", path, line, rest)
		}
		return nil, fmt.Errorf("%s: %s", path, msg)
	}
	var root *yaml.Node
	for _, d := range docs {
		if d.Node == nil {
			continue
		}
		if root != nil {
			return nil, fmt.Errorf("%s:%d: a test file holds one YAML document (cases go in its cases list)", path, d.Line)
		}
		root = d.Node
	}
	if root == nil {
		return nil, fmt.Errorf("%s: the file is empty; want template and cases", path)
	}
	if problems := yamlsafe.Screen(root, yamlLimits); len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = fmt.Sprintf("%s:%d: %s: %s", path, p.Line, p.Path, p.Message)
		}
		return nil, errors.New(strings.Join(msgs, "\n"))
	}
	r := reader{file: path}
	top, err := r.fields(root, "", "template", "cases")
	if err != nil {
		return nil, err
	}
	f := &File{Path: path}
	tpl := "template.yaml"
	if filepath.Base(filepath.Dir(path)) == "tests" && !strings.HasSuffix(filepath.Base(path), ".test.yaml") {
		tpl = filepath.Join("..", "template.yaml")
	}
	if n := top["template"]; n != nil {
		if tpl, err = r.str(n, "template"); err != nil {
			return nil, err
		}
		if filepath.IsAbs(tpl) {
			return nil, r.errf(n, "template", "must be a path relative to the test file")
		}
	}
	f.Template = filepath.Join(filepath.Dir(path), filepath.FromSlash(tpl))
	// The template lives in the test file's folder, or for a test in
	// tests/, the folder above: a case file may not read elsewhere.
	home := testHome(path)
	if rel, err := filepath.Rel(home, f.Template); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		f.TemplateOutside = true
	}
	cases := top["cases"]
	if cases == nil {
		return nil, r.errf(root, "cases", "required: a list of test cases")
	}
	if cases.Kind != yaml.SequenceNode || len(cases.Content) == 0 {
		return nil, r.errf(cases, "cases", "must be a non-empty list of test cases")
	}
	names := map[string]int{}
	for i, cn := range cases.Content {
		c, err := r.testCase(cn, fmt.Sprintf("cases[%d]", i))
		if err != nil {
			return nil, err
		}
		if line, dup := names[c.Name]; dup {
			return nil, r.errf(cn, fmt.Sprintf("cases[%d].name", i), "%q is also the name of the case on line %d", c.Name, line)
		}
		names[c.Name] = c.Line
		f.Cases = append(f.Cases, c)
	}
	return f, nil
}

// testHome is the folder a test file's template and fakes live in: the
// test file's, or for a test in tests/, the folder above.
func testHome(path string) string {
	home := filepath.Dir(path)
	if filepath.Base(home) == "tests" {
		home = filepath.Dir(home)
	}
	return home
}

// reader reads typed fields out of a screened node tree, with file:line
// errors.
type reader struct{ file string }

func (r reader) errf(n *yaml.Node, path, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", r.file, n.Line, path, fmt.Sprintf(format, args...))
}

// fields returns a mapping's values by key, refusing keys not in known.
func (r reader) fields(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, r.errf(n, orTop(path), "must be a mapping")
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			return nil, r.errf(k, join(path, k.Value), "unknown field (known: %s)", strings.Join(known, ", "))
		}
		out[k.Value] = n.Content[i+1]
	}
	return out, nil
}

func orTop(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (r reader) str(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", r.errf(n, path, "must be a string")
	}
	return n.Value, nil
}

func (r reader) strList(n *yaml.Node, path string) ([]string, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, r.errf(n, path, "must be a string or a list of strings")
	}
	out := make([]string, len(n.Content))
	for i, c := range n.Content {
		s, err := r.str(c, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// object reads a mapping as plain values.
func (r reader) object(n *yaml.Node, path string) (map[string]any, error) {
	if n.Kind != yaml.MappingNode {
		return nil, r.errf(n, path, "must be a mapping")
	}
	v, err := yamlsafe.Value(n)
	if err != nil {
		return nil, r.errf(n, path, "%v", err)
	}
	return v.(map[string]any), nil
}

// pairs calls each for every key and value of a mapping; what names the
// mapping's entries in the error when n is not one.
func (r reader) pairs(n *yaml.Node, path, what string, each func(k, v *yaml.Node, p string) error) error {
	if n.Kind != yaml.MappingNode {
		return r.errf(n, path, "must be a mapping of %s", what)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := each(n.Content[i], n.Content[i+1], path+"."+n.Content[i].Value); err != nil {
			return err
		}
	}
	return nil
}

func (r reader) testCase(n *yaml.Node, path string) (Case, error) {
	c := Case{Line: n.Line}
	fl, err := r.fields(n, path, "name", "template", "values", "secrets", "user", "entities", "fakes", "fetch", "expect")
	if err != nil {
		return c, err
	}
	if fl["name"] == nil {
		return c, r.errf(n, path+".name", "required: every case has a name")
	}
	if c.Name, err = r.str(fl["name"], path+".name"); err != nil {
		return c, err
	}
	if strings.TrimSpace(c.Name) == "" {
		return c, r.errf(fl["name"], path+".name", "must not be empty")
	}
	if m := fl["template"]; m != nil {
		if c.TemplateName, err = r.str(m, path+".template"); err != nil {
			return c, err
		}
	}
	c.Values = map[string]any{}
	if m := fl["values"]; m != nil {
		if c.Values, err = r.object(m, path+".values"); err != nil {
			return c, err
		}
	}
	if m := fl["secrets"]; m != nil {
		c.Secrets = map[string]string{}
		err := r.pairs(m, path+".secrets", "names to fake secret values", func(k, v *yaml.Node, p string) error {
			// The value is never quoted back in a message.
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || v.Value == "" {
				return r.errf(v, p, "must be a non-empty string")
			}
			c.Secrets[k.Value] = v.Value
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	c.UserRef = "user:default/template-test"
	if m := fl["user"]; m != nil {
		uf, err := r.fields(m, path+".user", "ref", "entity")
		if err != nil {
			return c, err
		}
		if uf["ref"] != nil {
			if c.UserRef, err = r.str(uf["ref"], path+".user.ref"); err != nil {
				return c, err
			}
		}
		if uf["entity"] != nil {
			if c.UserEntity, err = r.object(uf["entity"], path+".user.entity"); err != nil {
				return c, err
			}
		}
	}
	if m := fl["entities"]; m != nil {
		if m.Kind != yaml.SequenceNode {
			return c, r.errf(m, path+".entities", "must be a list of entities")
		}
		for i, en := range m.Content {
			p := fmt.Sprintf("%s.entities[%d]", path, i)
			e, err := r.object(en, p)
			if err != nil {
				return c, err
			}
			if _, err := entityRef(e); err != nil {
				return c, r.errf(en, p, "%v", err)
			}
			c.Entities = append(c.Entities, e)
		}
	}
	if m := fl["fakes"]; m != nil {
		c.Fakes = map[string]Fake{}
		err := r.pairs(m, path+".fakes", "action names or step ids to {output, error}", func(k, v *yaml.Node, p string) error {
			ff, err := r.fields(v, p, "output", "error")
			if err != nil {
				return err
			}
			var f Fake
			if ff["output"] != nil {
				if f.Output, err = r.object(ff["output"], p+".output"); err != nil {
					return err
				}
			}
			if ff["error"] != nil {
				if f.Error, err = r.str(ff["error"], p+".error"); err != nil {
					return err
				}
			}
			c.Fakes[k.Value] = f
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	if m := fl["fetch"]; m != nil {
		c.Fetch = map[string]string{}
		err := r.pairs(m, path+".fetch", "remote skeleton urls to local folders (or record)", func(k, v *yaml.Node, p string) error {
			if !activities.SkeletonFakeable(k.Value) {
				return r.errf(k, p, "must be an http(s) url or a relative one leaving the template's folder (../): a url inside the folder reads the template's own files")
			}
			dir, err := r.str(v, p)
			if err != nil {
				return err
			}
			if dir != FetchRecord {
				clean := filepath.Clean(filepath.FromSlash(dir))
				if dir == "" || filepath.IsAbs(clean) {
					return r.errf(v, p, "must be a folder (or file) relative to the test file, or %s", FetchRecord)
				}
			}
			c.Fetch[k.Value] = dir
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	if m := fl["expect"]; m != nil {
		if c.Expect, err = r.expect(m, path+".expect"); err != nil {
			return c, err
		}
	} else {
		return c, r.errf(n, path+".expect", "required: what the run must show (steps, outputs, output, snapshot, log, notLog, error, calls)")
	}
	return c, nil
}

func (r reader) expect(n *yaml.Node, path string) (Expect, error) {
	var e Expect
	fl, err := r.fields(n, path, "steps", "outputs", "output", "snapshot", "log", "notLog", "error", "calls")
	if err != nil {
		return e, err
	}
	if m := fl["steps"]; m != nil {
		e.Steps = map[string]string{}
		err := r.pairs(m, path+".steps", "step ids to statuses", func(k, v *yaml.Node, p string) error {
			s, err := r.str(v, p)
			if err != nil {
				return err
			}
			if !slices.Contains(stepStatuses, s) {
				return r.errf(v, p, "%q is not a step status (one of %s)", s, strings.Join(stepStatuses, ", "))
			}
			e.Steps[k.Value] = s
			return nil
		})
		if err != nil {
			return e, err
		}
	}
	if m := fl["outputs"]; m != nil {
		e.Outputs = map[string]map[string]any{}
		err := r.pairs(m, path+".outputs", "step ids to outputs", func(k, v *yaml.Node, p string) error {
			o, err := r.object(v, p)
			e.Outputs[k.Value] = o
			return err
		})
		if err != nil {
			return e, err
		}
	}
	if m := fl["output"]; m != nil {
		if e.Output, err = r.object(m, path+".output"); err != nil {
			return e, err
		}
	}
	if m := fl["snapshot"]; m != nil {
		if e.Snapshot, err = r.str(m, path+".snapshot"); err != nil {
			return e, err
		}
		clean := filepath.Clean(filepath.FromSlash(e.Snapshot))
		if filepath.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return e, r.errf(m, path+".snapshot", "must be a folder below the test file's folder")
		}
	}
	if m := fl["log"]; m != nil {
		if e.Log, err = r.strList(m, path+".log"); err != nil {
			return e, err
		}
	}
	if m := fl["notLog"]; m != nil {
		if e.NotLog, err = r.strList(m, path+".notLog"); err != nil {
			return e, err
		}
	}
	if m := fl["error"]; m != nil {
		if e.Error, err = r.str(m, path+".error"); err != nil {
			return e, err
		}
		if e.Error == "" {
			return e, r.errf(m, path+".error", "must not be empty (it is a part of the expected message)")
		}
	}
	if m := fl["calls"]; m != nil {
		e.Calls = map[string][]map[string]any{}
		err := r.pairs(m, path+".calls", "action names or step ids to lists of inputs", func(k, v *yaml.Node, p string) error {
			if v.Kind != yaml.SequenceNode {
				return r.errf(v, p, "must be a list, one input per expected call ({} checks only the count)")
			}
			list := []map[string]any{}
			for j, c := range v.Content {
				o, err := r.object(c, fmt.Sprintf("%s[%d]", p, j))
				if err != nil {
					return err
				}
				list = append(list, o)
			}
			e.Calls[k.Value] = list
			return nil
		})
		if err != nil {
			return e, err
		}
	}
	if e.Error != "" && e.Snapshot != "" {
		return e, r.errf(n, path, "error and snapshot exclude each other (a failing run's files are not compared)")
	}
	return e, nil
}
