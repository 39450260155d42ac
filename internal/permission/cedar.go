package permission

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// Policy is a loaded, validated set of Cedar policies plus the configured
// admins (permission.admins), who are allowed everything. Replace swaps in
// another loaded set while rigger runs (a configuration reload): every
// decision uses the set of its moment, and whoever holds the *Policy sees
// the new one.
type Policy struct {
	cur atomic.Pointer[rules]
}

// wrap makes r a Policy.
func wrap(r *rules) *Policy {
	p := &Policy{}
	p.cur.Store(r)
	return p
}

// Replace makes p decide as next does from now on (next is left as it is).
func (p *Policy) Replace(next *Policy) { p.cur.Store(next.cur.Load()) }

// WithAdmins returns a copy of p under which these refs (users or groups,
// matched against a principal's ref and ownership refs) are allowed
// everything, whatever the policies say.
func (p *Policy) WithAdmins(refs []string) *Policy { return wrap(p.cur.Load().withAdmins(refs)) }

// Warnings are the conditions on entities that EntityFilter cannot turn
// into a store filter (it then shows less, never more), naming policy and
// line: start-up logs them.
func (p *Policy) Warnings() []string { return p.cur.Load().warnings }

// Authorize decides whether pr may do action on res: allowed when an admin
// asks, or when some policy permits and none forbids (deny by default).
func (p *Policy) Authorize(pr Principal, action string, res Resource) Decision {
	return p.cur.Load().authorize(pr, action, res)
}

// rules is one loaded set of policies and admins; it never changes.
type rules struct {
	set      *cedar.PolicySet
	policies []loaded
	admins   []string
	warnings []string
	// filters remembers EntityFilter's translations per principal and
	// action (a policy never changes once loaded).
	filters *filterCache
}

// loaded is one policy with where it came from.
type loaded struct {
	id  cedar.PolicyID
	ast *xast.Policy
	pos string // file:line
}

// Decision is the answer to one request. Reason says why, in words a
// person can act on (it is the message of a 403).
type Decision struct {
	Allowed bool
	Reason  string
}

// Load parses and validates the Cedar policy files. An error names the
// file, line and column and what is wrong: a syntax error, an unknown
// action or entity type, or an attribute the model does not have. The
// returned policy's Warnings list the conditions EntityFilter cannot
// translate into a store filter.
func Load(files []string) (*Policy, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("no policy files")
	}
	var docs []doc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read policy: %w", err)
		}
		docs = append(docs, doc{name: f, text: b})
	}
	return parse(docs)
}

//go:embed default.cedar
var defaultPolicy []byte

// DefaultName labels the built-in default policy in errors and reasons.
const DefaultName = "default.cedar"

// Default is the policy rigger uses when permission.policyFiles is empty:
// the same text as examples/policies/default.cedar.
// (A test keeps it valid; the error is for completeness.)
func Default() (*Policy, error) { return Parse(DefaultName, defaultPolicy) }

// doc is one policy file's name and text.
type doc struct {
	name string
	text []byte
}

// Parse is Load for policies already in memory: name labels errors and
// reasons.
func Parse(name string, text []byte) (*Policy, error) {
	return parse([]doc{{name: name, text: text}})
}

// looksLikeCedar reports whether text starts (after blank lines and //
// comments) as a Cedar policy file does, or is empty. The parser's errors
// quote the token they stopped at; for a file that is no policy file at
// all (permission.policyFiles naming the wrong file) that token is the
// first word of someone else's content, which must not reach logs or
// /api/config/effective.
func looksLikeCedar(text []byte) bool {
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "//"):
			continue
		case strings.HasPrefix(line, "@"):
			return true
		}
		word := line
		if i := strings.IndexFunc(line, func(r rune) bool { return r == '(' || r == ' ' || r == '\t' }); i >= 0 {
			word = line[:i]
		}
		return word == "permit" || word == "forbid"
	}
	return true
}

func parse(docs []doc) (*Policy, error) {
	p := &rules{set: cedar.NewPolicySet(), filters: newFilterCache()}
	var errs []string
	for _, d := range docs {
		if !looksLikeCedar(d.text) {
			return nil, fmt.Errorf("%s: not a Cedar policy file: it must begin with permit, forbid, an @annotation or a // comment", d.name)
		}
		list, err := cedar.NewPolicyListFromBytes(d.name, d.text)
		if err != nil {
			return nil, fmt.Errorf("%s", strings.ReplaceAll(strings.TrimPrefix(err.Error(), "parser error: "), "<input>", d.name))
		}
		for i, pol := range list {
			a := (*xast.Policy)(pol.AST())
			pos := fmt.Sprintf("%s:%d:%d", d.name, a.Position.Line, a.Position.Column)
			id := cedar.PolicyID(pos)
			if v, ok := pol.Annotations()["id"]; ok && v != "" {
				id = cedar.PolicyID(v)
			}
			if p.set.Get(id) != nil {
				errs = append(errs, fmt.Sprintf("%s: policy id %q is used twice", pos, id))
				continue
			}
			_ = i
			for _, msg := range validate(a) {
				errs = append(errs, fmt.Sprintf("%s: policy %s: %s", pos, id, msg))
			}
			p.set.Add(id, pol)
			p.policies = append(p.policies, loaded{id: id, ast: a, pos: pos})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid policy:\n  %s", strings.Join(errs, "\n  "))
	}
	p.warnings = append(p.untranslatable(), p.upperCaseTargets()...)
	return wrap(p), nil
}

// upperCaseTargets warns of a resource.target compared with text in
// upper case that is not an ARN: GitHub targets are lower case, so such a
// rule never matches (a forbid would silently forbid nothing).
func (p *rules) upperCaseTargets() []string {
	var out []string
	for _, l := range p.policies {
		for _, c := range l.ast.Conditions {
			xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
				var lit string
				switch t := n.(type) {
				case xast.NodeTypeLike:
					if isResourceTarget(t.Arg) {
						lit = string(t.Value.MarshalCedar())
					}
				case xast.NodeTypeEquals:
					for _, pair := range [][2]xast.IsNode{{t.Left, t.Right}, {t.Right, t.Left}} {
						if v, ok := pair[1].(xast.NodeValue); ok && isResourceTarget(pair[0]) {
							if s, ok := v.Value.(types.String); ok {
								lit = string(s)
							}
						}
					}
				}
				if lit != "" && lit != strings.ToLower(lit) && !strings.HasPrefix(strings.Trim(lit, `"`), "arn:") {
					out = append(out, fmt.Sprintf("%s: policy %s compares resource.target with %s, which has upper case: GitHub targets are lower case (host/owner/repo), so it never matches one; write it in lower case", l.pos, l.id, lit))
				}
				return true
			})
		}
	}
	return out
}

// isResourceTarget says whether n is resource.target.
func isResourceTarget(n xast.IsNode) bool {
	acc, ok := n.(xast.NodeTypeAccess)
	if !ok || acc.Value != "target" {
		return false
	}
	v, ok := acc.Arg.(xast.NodeTypeVariable)
	return ok && v.Name == "resource"
}

// withAdmins is WithAdmins of one set.
func (p *rules) withAdmins(refs []string) *rules {
	c := *p
	c.filters = newFilterCache()
	c.admins = nil
	for _, r := range refs {
		c.admins = append(c.admins, strings.ToLower(r))
	}
	return &c
}

func (p *rules) isAdmin(pr Principal) bool {
	if pr.Service || pr.Guest || len(p.admins) == 0 {
		return false
	}
	for _, r := range append([]string{pr.Ref}, pr.Ent...) {
		if slices.Contains(p.admins, strings.ToLower(r)) {
			return true
		}
	}
	return false
}

// authorize is Authorize of one set.
func (p *rules) authorize(pr Principal, action string, res Resource) Decision {
	if p.isAdmin(pr) {
		return Decision{Allowed: true, Reason: fmt.Sprintf("%s is an admin (permission.admins)", pr)}
	}
	ents := pr.entities()
	ents[res.uid] = res.entity()
	req := cedar.Request{Principal: pr.uid(), Action: actionUID(action), Resource: res.uid, Context: pr.context()}
	dec, diag := cedar.Authorize(p.set, ents, req)
	if dec == cedar.Allow {
		return Decision{Allowed: true, Reason: fmt.Sprintf("permitted by policy %s", p.name(diag.Reasons[0].PolicyID))}
	}
	if len(diag.Reasons) > 0 {
		return Decision{Reason: fmt.Sprintf("policy %s forbids %s on %s for %s", p.name(diag.Reasons[0].PolicyID), action, res, pr)}
	}
	return Decision{Reason: fmt.Sprintf("no policy permits %s on %s for %s", action, res, pr)}
}

// name is a policy's id and, when that is not already its position, where
// it is.
func (p *rules) name(id cedar.PolicyID) string {
	for _, l := range p.policies {
		if l.id == id && string(id) != l.pos {
			return fmt.Sprintf("%s (%s)", id, l.pos)
		}
	}
	return string(id)
}

func actionUID(name string) types.EntityUID {
	return types.NewEntityUID(TypeAction, types.String(name))
}

// validate checks one policy against the model: action names, entity
// types and attributes of principal and resource.
func validate(a *xast.Policy) []string {
	var out []string
	checkUID := func(uid types.EntityUID) {
		if !slices.Contains(allTypes, uid.Type) {
			out = append(out, fmt.Sprintf("unknown entity type %s (the model has %s)", uid.Type, typeNames(allTypes)))
			return
		}
		if uid.Type == TypeAction && !slices.Contains(Actions(), string(uid.ID)) {
			out = append(out, fmt.Sprintf("unknown action %q (known: %s)", uid.ID, strings.Join(Actions(), ", ")))
		}
	}
	checkType := func(t types.EntityType) {
		if !slices.Contains(allTypes, t) {
			out = append(out, fmt.Sprintf("unknown entity type %s (the model has %s)", t, typeNames(allTypes)))
		}
	}
	principal := scopeTypes(a.Principal, principalTypes, checkUID, checkType)
	resource := scopeTypes(a.Resource, resourceTypes, checkUID, checkType)
	switch s := a.Action.(type) {
	case xast.ScopeTypeEq:
		mustAction(s.Entity, checkUID, &out)
	case xast.ScopeTypeIn:
		mustAction(s.Entity, checkUID, &out)
	case xast.ScopeTypeInSet:
		for _, e := range s.Entities {
			mustAction(e, checkUID, &out)
		}
	}
	for _, c := range a.Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			switch t := n.(type) {
			case xast.NodeValue:
				walkValue(t.Value, checkUID)
			case xast.NodeTypeIs:
				checkType(t.EntityType)
			case xast.NodeTypeIsIn:
				checkType(t.EntityType)
			case xast.NodeTypeAccess:
				out = append(out, checkAttr(t.Arg, string(t.Value), principal, resource)...)
			case xast.NodeTypeHas:
				out = append(out, checkAttr(t.Arg, string(t.Value), principal, resource)...)
			case xast.NodeTypeIn:
				// String attributes are not entities: in always errors on them.
				if acc, ok := t.Left.(xast.NodeTypeAccess); ok {
					if v, ok := acc.Arg.(xast.NodeTypeVariable); ok && (v.Name == "resource" || v.Name == "principal") {
						out = append(out, fmt.Sprintf("%s.%s in ...: in needs an entity on its left and %s.%s is a String; to test membership in a set write SET.contains(%s.%s), e.g. principal.ent.contains(resource.owner)",
							v.Name, acc.Value, v.Name, acc.Value, v.Name, acc.Value))
					}
				}
			}
			return true
		})
	}
	return out
}

func mustAction(uid types.EntityUID, checkUID func(types.EntityUID), out *[]string) {
	if uid.Type != TypeAction {
		*out = append(*out, fmt.Sprintf("action scope names %s, not a %s", uid, TypeAction))
		return
	}
	checkUID(uid)
}

// walkValue checks the entity UIDs inside a literal value.
func walkValue(v types.Value, checkUID func(types.EntityUID)) {
	switch t := v.(type) {
	case types.EntityUID:
		checkUID(t)
	case types.Set:
		for e := range t.All() {
			walkValue(e, checkUID)
		}
	}
}

// scopeTypes are the entity types a principal or resource scope allows.
func scopeTypes(s xast.IsScopeNode, all []types.EntityType, checkUID func(types.EntityUID), checkType func(types.EntityType)) []types.EntityType {
	switch t := s.(type) {
	case xast.ScopeTypeEq:
		checkUID(t.Entity)
		return []types.EntityType{t.Entity.Type}
	case xast.ScopeTypeIn:
		checkUID(t.Entity)
	case xast.ScopeTypeIs:
		checkType(t.Type)
		return []types.EntityType{t.Type}
	case xast.ScopeTypeIsIn:
		checkType(t.Type)
		checkUID(t.Entity)
		return []types.EntityType{t.Type}
	}
	return all
}

// checkAttr refuses principal.x and resource.x when no type the scope
// allows has x, and attributes of context other than channel.
func checkAttr(arg xast.IsNode, attr string, principal, resource []types.EntityType) []string {
	v, ok := arg.(xast.NodeTypeVariable)
	if !ok {
		return nil
	}
	var allowed []types.EntityType
	switch v.Name {
	case "principal":
		allowed = principal
	case "resource":
		allowed = resource
	case "context":
		if attr == "channel" {
			return nil
		}
		return []string{fmt.Sprintf("context.%s: the model's context has one attribute, channel (\"api\" or \"mcp\")", attr)}
	default:
		return nil
	}
	var known []string
	for _, t := range allowed {
		if slices.Contains(attrs(t), attr) {
			return nil
		}
		known = append(known, attrs(t)...)
	}
	slices.Sort(known)
	known = slices.Compact(known)
	return []string{fmt.Sprintf("%s.%s: no such attribute on %s (it has %s)", v.Name, attr, typeNames(allowed), strings.Join(known, ", "))}
}

func typeNames(ts []types.EntityType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
