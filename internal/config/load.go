package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// MaxFileBytes caps rigger.yaml.
const MaxFileBytes = 1 << 20

// maxNesting bounds nesting in the file; the deepest real key
// (catalog.locations[i].rules[j].locations[k].type) is eight levels down.
const maxNesting = 32

// Load returns the defaults overlaid with the file at path ("" means
// defaults only), ${VAR} references resolved through lookupEnv (nil means an
// empty environment). It does not validate: callers apply flags, then call
// Validate.
//
// Relative paths the file gives (server.dataDir, database.path,
// scaffolder.templates and workspaceRoot, file targets of catalog.locations,
// temporal.tls files, permission.policyFile, audit.path) are made absolute
// against the folder of the file, so the file means the same thing from any
// working directory; defaults are left as they are (relative to the current
// directory). File records the file read.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadData(path, data, lookupEnv)
}

// ReadFile reads the configuration file at path (through any symlinks,
// as a Kubernetes ConfigMap mount has), at most one byte more than
// MaxFileBytes, so that LoadData can say it is too large.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return data, nil
}

// LoadData is Load of data already read from path: a reload hashes the
// bytes it reads and decodes those same bytes, so what it reports loading
// is what it loaded even when the file changes again meanwhile.
func LoadData(path string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg, set, err := parse(path, data, lookupEnv)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	cfg.File = abs
	cfg.resolvePaths(filepath.Dir(abs), set)
	return cfg, nil
}

// Parse is Load from bytes; name stands for the file in messages. An empty
// document (nothing, only comments, or null) gives the defaults. The error,
// if any, joins one *Problem per problem found.
func Parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg, _, err := parse(name, data, lookupEnv)
	return cfg, err
}

// parse is Parse that also returns the key paths the file set.
func parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, map[string]bool, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	if len(data) > MaxFileBytes {
		return nil, nil, &Problem{File: name, Message: fmt.Sprintf("the file is larger than the limit of %d bytes", MaxFileBytes)}
	}
	docs, err := yamlsafe.Documents(data)
	if err != nil {
		return nil, nil, syntaxProblem(name, err)
	}
	for _, d := range docs[min(1, len(docs)):] {
		if d.Node != nil {
			return nil, nil, &Problem{File: name, Line: d.Line, Column: 1,
				Message: "only one YAML document is allowed (remove the --- separator and merge the documents)"}
		}
	}
	cfg := Default()
	set := map[string]bool{}
	if len(docs) == 0 || docs[0].Node == nil {
		return cfg, set, nil
	}
	root := docs[0].Node
	var screened problems
	for _, p := range yamlsafe.Screen(root, yamlsafe.Limits{MaxDepth: maxNesting}) {
		screened.add(&Problem{File: name, Line: p.Line, Column: p.Column, Path: p.Path, Message: p.Message})
	}
	if err := screened.err(); err != nil {
		// Stop here: the decoder must never follow an alias.
		return nil, nil, err
	}
	d := &decoder{file: name, lookup: lookupEnv, set: set, lines: map[string]int{}}
	d.decodeRoot(root, cfg)
	if err := d.problems.err(); err != nil {
		return nil, nil, err
	}
	// catalog.model is compiled here, so its problems carry their lines.
	if err := d.catalogModel(cfg); err != nil {
		return nil, nil, err
	}
	return cfg, set, nil
}

// syntaxProblem turns a YAML parser error ("line 3: did not find expected
// key") into a Problem with the file and line.
func syntaxProblem(name string, err error) *Problem {
	msg := err.Error()
	p := &Problem{File: name}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				p.Line, msg = line, text
			}
		}
	}
	p.Message = "invalid YAML: " + msg
	return p
}
