package permission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/catalog"
)

// CaseFile is a table of policy test cases (`rigger policy test`):
//
//	policies: [default.cedar]       # relative to this file; --policy overrides
//	admins: [group:default/admins]  # optional: permission.admins
//	cases:
//	  - name: alice reads her team's service
//	    principal: {ref: user:default/alice, groups: [group:default/team-a]}
//	    action: catalog.entity.read
//	    resource:
//	      entity: {kind: Component, metadata: {name: a}, spec: {owner: team-a}}
//	    expect: allow
//
// A principal is {ref, groups} (a user), {service, scopes} or {guest:
// true}; a resource is one of entity (an inline entity; a template is an
// entity of kind Template), task {id, createdBy, template, templateOwner},
// action (a scaffolder action id), location {id, type, target} or system
// (a name such as audit).
type CaseFile struct {
	Policies []string `yaml:"policies"`
	Admins   []string `yaml:"admins"`
	Cases    []Case   `yaml:"cases"`
}

// Case is one row of a CaseFile.
type Case struct {
	Name      string        `yaml:"name"`
	Principal CasePrincipal `yaml:"principal"`
	Action    string        `yaml:"action"`
	Resource  CaseResource  `yaml:"resource"`
	Expect    string        `yaml:"expect"`
	line      int
}

// CasePrincipal is who asks in a Case.
type CasePrincipal struct {
	Ref     string   `yaml:"ref"`
	Groups  []string `yaml:"groups"`
	Service string   `yaml:"service"`
	Scopes  []string `yaml:"scopes"`
	Guest   bool     `yaml:"guest"`
}

// CaseResource is what a Case acts on: exactly one field set.
type CaseResource struct {
	Entity map[string]any `yaml:"entity"`
	Task   *struct {
		ID            string `yaml:"id"`
		CreatedBy     string `yaml:"createdBy"`
		Template      string `yaml:"template"`
		TemplateOwner string `yaml:"templateOwner"`
	} `yaml:"task"`
	Action   string `yaml:"action"`
	Location *struct {
		ID     string `yaml:"id"`
		Type   string `yaml:"type"`
		Target string `yaml:"target"`
	} `yaml:"location"`
	System string `yaml:"system"`
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Case     Case
	Where    string // file:line of the case
	Decision Decision
	Pass     bool
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// ReadCases parses a case file strictly: an unknown key or a malformed case
// is an error naming file:line. Policy paths come back relative to the
// file's folder.
func ReadCases(path string) (*CaseFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy tests: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s", yamlLine.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), path+":$1: "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f CaseFile
	if err := dec.Decode(&f); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
		return nil, fmt.Errorf("%s", yamlLine.ReplaceAllString(msg, path+":$1: "))
	}
	if len(root.Content) == 1 {
		for i, n := range root.Content[0].Content {
			if n.Value == "cases" && i+1 < len(root.Content[0].Content) {
				for j, c := range root.Content[0].Content[i+1].Content {
					if j < len(f.Cases) {
						f.Cases[j].line = c.Line
					}
				}
			}
		}
	}
	if len(f.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	var problems []string
	for i, c := range f.Cases {
		where := fmt.Sprintf("%s:%d", path, c.line)
		if err := c.check(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: case %d: %v", where, i+1, err))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	for i, p := range f.Policies {
		if !filepath.IsAbs(p) {
			f.Policies[i] = filepath.Join(filepath.Dir(path), p)
		}
	}
	return &f, nil
}

func (c Case) check() error {
	if c.Expect != "allow" && c.Expect != "deny" {
		return fmt.Errorf("expect must be allow or deny, not %q", c.Expect)
	}
	if !slices.Contains(Actions(), c.Action) {
		return fmt.Errorf("unknown action %q (known: %s)", c.Action, strings.Join(Actions(), ", "))
	}
	p := c.Principal
	kinds := 0
	for _, set := range []bool{p.Ref != "", p.Service != "", p.Guest} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return fmt.Errorf("principal needs exactly one of ref (a user), service or guest: true")
	}
	if p.Ref != "" && !strings.HasPrefix(strings.ToLower(p.Ref), "user:") {
		return fmt.Errorf("principal.ref %q is not a user ref (user:default/name)", p.Ref)
	}
	r := c.Resource
	n := 0
	for _, set := range []bool{r.Entity != nil, r.Task != nil, r.Action != "", r.Location != nil, r.System != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("resource needs exactly one of entity, task, action, location or system")
	}
	return nil
}

func (p CasePrincipal) principal() Principal {
	switch {
	case p.Guest:
		return Principal{Ref: "user:default/guest", Guest: true}
	case p.Service != "":
		return Principal{Ref: "service:" + p.Service, Service: true, Scopes: p.Scopes}
	}
	return Principal{Ref: p.Ref, Ent: append([]string{p.Ref}, p.Groups...)}
}

func (r CaseResource) resource(model *catalog.Model) (Resource, error) {
	switch {
	case r.Entity != nil:
		b, err := json.Marshal(r.Entity)
		if err != nil {
			return Resource{}, fmt.Errorf("resource.entity: %w", err)
		}
		return EntityResourceModel(model, b)
	case r.Task != nil:
		return TaskResource(r.Task.ID, r.Task.CreatedBy, r.Task.Template, r.Task.TemplateOwner), nil
	case r.Action != "":
		return ActionResource(r.Action), nil
	case r.Location != nil:
		return LocationResource(r.Location.ID, r.Location.Type, r.Location.Target), nil
	}
	return SystemResource(r.System), nil
}

// RunCases evaluates every case of f (read from path) against p; an
// inline entity of a kind model declares (catalog.model; nil: none) gets
// the owner its model gives.
func RunCases(p *Policy, path string, f *CaseFile, model *catalog.Model) ([]CaseResult, error) {
	if len(f.Admins) > 0 {
		p = p.WithAdmins(f.Admins)
	}
	out := make([]CaseResult, 0, len(f.Cases))
	for i, c := range f.Cases {
		where := fmt.Sprintf("%s:%d", path, c.line)
		res, err := c.Resource.resource(model)
		if err != nil {
			return nil, fmt.Errorf("%s: case %d: %w", where, i+1, err)
		}
		d := p.Authorize(c.Principal.principal(), c.Action, res)
		out = append(out, CaseResult{Case: c, Where: where, Decision: d, Pass: d.Allowed == (c.Expect == "allow")})
	}
	return out, nil
}
