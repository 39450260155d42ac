package permission

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/eval"

	"github.com/riggerdev/rigger/internal/store"
)

// EntityFilter translates what pr may do with action on catalog entities
// into a store predicate, so lists are filtered in SQL before paging: the
// policies that can apply to action on a Rigger::Entity, with the
// principal substituted (partial evaluation over the policy AST). An
// entity matches iff some permit applies and no forbid does, exactly as
// Authorize decides, for the conditions the store can express: kind,
// namespace, name, ref, owner, type, lifecycle, system (== and !=),
// annotations and labels (has, ==), tags (contains), owner in the
// principal's ownership refs (principal.ent.contains(resource.owner)),
// combined with &&, ||, !, when and unless. Anything else that reads the
// resource is untranslatable and taken conservatively — a permit's
// condition as false, a forbid's as true — so the filter never shows more
// than Authorize allows; Load warns about each such policy.
func (p *Policy) EntityFilter(pr Principal, action string) (*store.Expr, error) {
	return p.cur.Load().entityFilterCached(pr, action)
}

// entityFilterCached is EntityFilter of one set, remembered per principal
// and action.
func (p *rules) entityFilterCached(pr Principal, action string) (*store.Expr, error) {
	key := pr.cacheKey(action)
	if e, ok := p.filters.get(key); ok {
		return e, nil
	}
	e, err := p.entityFilter(pr, action)
	if err == nil {
		p.filters.put(key, e)
	}
	return e, err
}

func (p *rules) entityFilter(pr Principal, action string) (*store.Expr, error) {
	if p.isAdmin(pr) {
		return store.True(), nil
	}
	t := translator{env: eval.Env{
		Entities:  pr.entities(),
		Principal: pr.uid(),
		Action:    actionUID(action),
		Resource:  eval.Variable("resource"),
		// The channel is known when the filter is built: context.channel
		// is substituted like the principal.
		Context: pr.context(),
	}}
	var permits, forbids []*store.Expr
	for _, l := range p.policies {
		forbid := l.ast.Effect == xast.EffectForbid
		e := t.policy(l.ast, forbid)
		if forbid {
			forbids = append(forbids, e)
		} else {
			permits = append(permits, e)
		}
	}
	return store.And(store.Or(permits...), store.Not(store.Or(forbids...))), nil
}

// untranslatable lists, for start-up, the policies on entities holding a
// condition EntityFilter cannot express.
func (p *rules) untranslatable() []string {
	var out []string
	for _, l := range p.policies {
		t := translator{env: eval.Env{
			Entities: types.EntityMap{}, Principal: eval.Variable("principal"), Action: eval.Variable("action"),
			Resource: eval.Variable("resource"), Context: types.NewRecord(nil),
		}, probe: true}
		t.policy(l.ast, false)
		if !l.couldApplyToEntities() {
			continue
		}
		for _, msg := range t.lost {
			out = append(out, fmt.Sprintf("%s: policy %s: %s: not translatable into a catalog filter, lists treat it conservatively (a permit as false, a forbid as true)", l.pos, l.id, msg))
		}
	}
	return out
}

// translator partially evaluates one policy for one principal and action.
// Under want == under it returns a predicate implied by the condition (the
// permit side); with over, one the condition implies (the forbid side).
type translator struct {
	env eval.Env
	// probe: only collect what is untranslatable (principal unknown).
	probe bool
	lost  []string
	// over: approximate from above (forbid policies), else from below.
	over bool
}

// truth is a condition translated as two predicates: t where it evaluates
// to true, f where to false. Where it errors, neither holds. Exact for
// what the store expresses; for anything else both are false (permit
// side: applies to fewer entities) or both true (forbid side: to more).
// Every combination below is monotone in t and f, so approximations stay
// on their side.
type truth struct{ t, f *store.Expr }

// exact is an atom that never errors.
func exact(e *store.Expr) truth { return truth{e, store.Not(e)} }

// defined is an atom that errors outside defined (a missing record key).
func defined(e, where *store.Expr) truth {
	return truth{store.And(where, e), store.And(where, store.Not(e))}
}

// policy is the predicate for "this policy applies to the entity": every
// when condition evaluates to true and every unless condition to false,
// without an error (a policy whose condition errors does not apply).
func (t *translator) policy(a *xast.Policy, over bool) *store.Expr {
	if !t.probe {
		if !t.scopeHolds(a.Principal, t.env.Principal) || !t.scopeHolds(a.Action, t.env.Action) {
			return store.False()
		}
	}
	t.over = over
	parts := []*store.Expr{t.resourceScope(a.Resource)}
	for _, c := range a.Conditions {
		b := t.node(c.Body)
		if c.Condition == xast.ConditionWhen {
			parts = append(parts, b.t)
		} else {
			parts = append(parts, b.f)
		}
	}
	return store.And(parts...)
}

// scopeHolds evaluates a principal or action scope (no resource in it).
func (t *translator) scopeHolds(s xast.IsScopeNode, v types.Value) bool {
	var n xast.Node
	val := xast.Value(v)
	switch s := s.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		n = val.Equal(xast.Value(s.Entity))
	case xast.ScopeTypeIn:
		n = val.In(xast.Value(s.Entity))
	case xast.ScopeTypeInSet:
		vals := make([]xast.Node, len(s.Entities))
		for i, e := range s.Entities {
			vals[i] = xast.Value(e)
		}
		n = val.In(xast.Set(vals...))
	case xast.ScopeTypeIs:
		n = val.Is(s.Type)
	case xast.ScopeTypeIsIn:
		n = val.IsIn(s.Type, xast.Value(s.Entity))
	default:
		return false
	}
	got, err := eval.Eval(n.AsIsNode(), t.env)
	return err == nil && got == types.True
}

// resourceScope: entities have no parents, so in and == both name one.
func (t *translator) resourceScope(s xast.IsResourceScopeNode) *store.Expr {
	switch s := s.(type) {
	case xast.ScopeTypeAll:
		return store.True()
	case xast.ScopeTypeEq:
		return refExpr(s.Entity)
	case xast.ScopeTypeIn:
		return refExpr(s.Entity)
	case xast.ScopeTypeIs:
		return boolExpr(s.Type == TypeEntity)
	case xast.ScopeTypeIsIn:
		if s.Type != TypeEntity {
			return store.False()
		}
		return refExpr(s.Entity)
	}
	return store.False()
}

func refExpr(uid types.EntityUID) *store.Expr {
	if uid.Type != TypeEntity {
		return store.False()
	}
	return refValue(string(uid.ID))
}

// refValue matches the entity whose lower-cased kind:namespace/name is ref.
func refValue(ref string) *store.Expr {
	kind, rest, ok1 := strings.Cut(ref, ":")
	ns, name, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || ref != strings.ToLower(ref) {
		return store.False() // resource.ref is always this form, lower-cased
	}
	return store.And(store.Match("kind", kind), store.Match("metadata.namespace", ns), store.Match("metadata.name", name))
}

func boolExpr(b bool) *store.Expr {
	if b {
		return store.True()
	}
	return store.False()
}

// unknown is an untranslatable condition, taken conservatively.
func (t *translator) unknown(why string) truth {
	t.lost = append(t.lost, why)
	return truth{boolExpr(t.over), boolExpr(t.over)}
}

// usesResource reports whether n reads the resource.
func usesResource(n xast.IsNode) bool {
	found := false
	xast.Inspect(xast.NewNode(n), func(n xast.IsNode) bool {
		if v, ok := n.(xast.NodeTypeVariable); ok && v.Name == "resource" {
			found = true
		}
		return !found
	})
	return found
}

// value evaluates a resource-free node with the principal substituted.
// While probing (no principal) it reports success with a nil value: the
// shape of the condition is translatable.
func (t *translator) value(n xast.IsNode) (types.Value, bool) {
	if usesResource(n) {
		return nil, false
	}
	if t.probe {
		return nil, true
	}
	v, err := eval.Eval(n, t.env)
	return v, err == nil
}

// column is the store key of resource.<attr> for the plain string
// attributes, "" for others.
func column(attr string) string {
	switch attr {
	case "kind":
		return "kind"
	case "namespace":
		return "metadata.namespace"
	case "name":
		return "metadata.name"
	case "owner":
		return "relations.ownedBy"
	case "type", "lifecycle", "system":
		return "spec." + attr
	}
	return ""
}

// strAttr is a string attribute of the resource the store can compare.
type strAttr struct {
	key   string // store key; "" for ref
	ref   bool
	where *store.Expr // where reading it does not error
}

func isAttr(n xast.IsNode) bool {
	if v, ok := n.(xast.NodeTypeVariable); ok && v.Name == "resource" {
		return true
	}
	_, ok := attr(n)
	return ok
}

// attr recognises resource.<string attr> and resource.annotations["k"] /
// resource.labels["k"] (which error where the key is missing).
func attr(n xast.IsNode) (strAttr, bool) {
	acc, isAcc := n.(xast.NodeTypeAccess)
	if !isAcc {
		return strAttr{}, false
	}
	if v, isVar := acc.Arg.(xast.NodeTypeVariable); isVar && v.Name == "resource" {
		if acc.Value == "ref" {
			return strAttr{ref: true, where: store.True()}, true
		}
		if k := column(string(acc.Value)); k != "" {
			return strAttr{key: k, where: store.True()}, true
		}
		return strAttr{}, false
	}
	if rec := recordAttr(acc.Arg); rec != "" {
		k := string(acc.Value)
		if k != strings.ToLower(k) {
			return strAttr{key: rec + k, where: store.False()}, true // never present
		}
		if jsLen(rec+k) > 200 {
			return strAttr{}, false // not indexed
		}
		return strAttr{key: rec + k, where: store.Match(rec + k)}, true
	}
	return strAttr{}, false
}

// recordAttr is the search key prefix of resource.annotations or
// resource.labels.
func recordAttr(n xast.IsNode) string {
	acc, ok := n.(xast.NodeTypeAccess)
	if !ok {
		return ""
	}
	if v, ok := acc.Arg.(xast.NodeTypeVariable); !ok || v.Name != "resource" {
		return ""
	}
	switch acc.Value {
	case "annotations":
		return "metadata.annotations."
	case "labels":
		return "metadata.labels."
	}
	return ""
}

func jsLen(s string) int { return len(utf16.Encode([]rune(s))) }

// eqString is resource.<attr> == s where the attribute is defined.
func eqString(a strAttr, s string) *store.Expr {
	if a.ref {
		return refValue(s)
	}
	if s != strings.ToLower(s) || jsLen(s) > 200 {
		return store.False() // the model lower-cases; long values are not indexed
	}
	if s == "" {
		switch a.key {
		case "kind", "metadata.namespace", "metadata.name":
			return store.False() // always set
		}
		// The model has "" where the store has no row (or an empty one).
		return store.Or(store.Not(store.Match(a.key)), store.Match(a.key, ""))
	}
	return store.Match(a.key, s)
}

// node translates a boolean condition.
func (t *translator) node(n xast.IsNode) truth {
	if !usesResource(n) {
		if t.probe {
			return truth{store.True(), store.True()} // decided per request
		}
		v, ok := t.value(n)
		b, isBool := v.(types.Boolean)
		if !ok || !isBool {
			return truth{store.False(), store.False()} // an error
		}
		return exact(boolExpr(bool(b)))
	}
	switch n := n.(type) {
	case xast.NodeTypeAnd:
		l, r := t.node(n.Left), t.node(n.Right)
		return truth{store.And(l.t, r.t), store.Or(l.f, store.And(l.t, r.f))}
	case xast.NodeTypeOr:
		l, r := t.node(n.Left), t.node(n.Right)
		return truth{store.Or(l.t, store.And(l.f, r.t)), store.And(l.f, r.f)}
	case xast.NodeTypeNot:
		a := t.node(n.Arg)
		return truth{a.f, a.t}
	case xast.NodeTypeEquals:
		if e, ok := t.equals(n.Left, n.Right); ok {
			return e
		}
	case xast.NodeTypeNotEquals:
		if e, ok := t.equals(n.Left, n.Right); ok {
			return truth{e.f, e.t}
		}
	case xast.NodeTypeHas:
		if v, ok := n.Arg.(xast.NodeTypeVariable); ok && v.Name == "resource" {
			return exact(boolExpr(slices.Contains(entityAttrs, string(n.Value))))
		}
		if rec := recordAttr(n.Arg); rec != "" {
			k := string(n.Value)
			if k != strings.ToLower(k) {
				return exact(store.False()) // keys are lower-cased in the model
			}
			if jsLen(rec+k) <= 200 {
				return exact(store.Match(rec + k))
			}
		}
	case xast.NodeTypeContains:
		if e, ok := t.contains(n.Left, n.Right); ok {
			return e
		}
	case xast.NodeTypeIs:
		if v, ok := n.Left.(xast.NodeTypeVariable); ok && v.Name == "resource" {
			return exact(boolExpr(n.EntityType == TypeEntity))
		}
	}
	return t.unknown(describe(n))
}

// equals handles resource.<string attr> == <principal-only expression>
// and resource == <entity>.
func (t *translator) equals(l, r xast.IsNode) (truth, bool) {
	if !isAttr(l) {
		l, r = r, l
	}
	if v, isVar := l.(xast.NodeTypeVariable); isVar && v.Name == "resource" {
		o, ok := t.value(r)
		if !ok {
			return t.failed(r)
		}
		if t.probe {
			return exact(store.True()), true
		}
		uid, isUID := o.(types.EntityUID)
		if !isUID {
			return exact(store.False()), true
		}
		return exact(refExpr(uid)), true
	}
	a, ok := attr(l)
	if !ok {
		return truth{}, false
	}
	v, ok := t.value(r)
	if !ok {
		return t.failed(r)
	}
	if t.probe {
		return exact(store.True()), true
	}
	s, isStr := v.(types.String)
	if !isStr {
		return defined(store.False(), a.where), true // == across types is false
	}
	return defined(eqString(a, string(s)), a.where), true
}

// contains handles resource.tags.contains(s),
// principal.ent.contains(resource.owner) and, generally, a principal-only
// set containing a string attribute.
func (t *translator) contains(set, elem xast.IsNode) (truth, bool) {
	if acc, ok := set.(xast.NodeTypeAccess); ok && acc.Value == "tags" {
		if v, ok := acc.Arg.(xast.NodeTypeVariable); ok && v.Name == "resource" {
			e, ok := t.value(elem)
			if !ok {
				return t.failed(elem)
			}
			if t.probe {
				return exact(store.True()), true
			}
			s, isStr := e.(types.String)
			if !isStr || string(s) != strings.ToLower(string(s)) {
				return exact(store.False()), true
			}
			if jsLen(string(s)) > 200 {
				return truth{}, false
			}
			return exact(store.Match("metadata.tags", string(s))), true
		}
	}
	a, ok := attr(elem)
	if !ok {
		return truth{}, false
	}
	v, ok := t.value(set)
	if !ok {
		return t.failed(set)
	}
	if t.probe {
		return exact(store.True()), true
	}
	s, isSet := v.(types.Set)
	if !isSet {
		return truth{store.False(), store.False()}, true // an error
	}
	var alts []*store.Expr
	for item := range s.All() {
		if str, isStr := item.(types.String); isStr {
			alts = append(alts, eqString(a, string(str)))
		}
	}
	return defined(store.Or(alts...), a.where), true
}

// failed: the principal-only operand n did not evaluate. If it reads the
// resource the shape is untranslatable; otherwise evaluating it is an error
// for every entity, and a condition that errors holds neither way.
func (t *translator) failed(n xast.IsNode) (truth, bool) {
	if usesResource(n) {
		return truth{}, false
	}
	return truth{store.False(), store.False()}, true
}

// describe names an untranslatable node for the start-up warning.
func describe(n xast.IsNode) string {
	name := fmt.Sprintf("%T", n)
	name = strings.TrimPrefix(name, "ast.NodeType")
	return "a condition (" + name + ") on the resource"
}

// couldApplyToEntities: a policy whose resource scope names another type
// never reaches an entity list.
func (l loaded) couldApplyToEntities() bool {
	switch s := l.ast.Resource.(type) {
	case xast.ScopeTypeIs:
		return s.Type == TypeEntity
	case xast.ScopeTypeIsIn:
		return s.Type == TypeEntity
	case xast.ScopeTypeEq:
		return s.Entity.Type == TypeEntity
	}
	return true
}

// filterCache holds translated filters, bounded: when full it starts over.
type filterCache struct {
	mu sync.Mutex
	m  map[string]*store.Expr
}

// maxCachedFilters bounds filterCache (distinct principal and action pairs).
const maxCachedFilters = 4096

func newFilterCache() *filterCache { return &filterCache{m: map[string]*store.Expr{}} }

func (c *filterCache) get(k string) (*store.Expr, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *filterCache) put(k string, e *store.Expr) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedFilters {
		c.m = map[string]*store.Expr{}
	}
	c.m[k] = e
}

// cacheKey identifies everything about pr a translation depends on: every
// field quoted (no two principals share a key), the lists sorted and
// counted, the channel as context() reads it. Every catalog read builds
// one: with fmt it was 4 % of a by-name lookup's CPU.
func (pr Principal) cacheKey(action string) string {
	ent := slices.Clone(pr.Ent)
	slices.Sort(ent)
	scopes := slices.Clone(pr.Scopes)
	slices.Sort(scopes)
	channel := pr.Channel
	if channel == "" {
		channel = ChannelAPI
	}
	// A user's ref is read lowercased (uid, entities); a service's and the
	// guest's as they are, so their case tells two apart.
	ref := pr.Ref
	if !pr.Service && !pr.Guest {
		ref = strings.ToLower(ref)
	}
	b := make([]byte, 0, 128)
	b = strconv.AppendQuote(b, ref)
	for _, list := range [][]string{ent, scopes} {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(len(list)), 10)
		for _, v := range list {
			b = strconv.AppendQuote(append(b, ' '), v)
		}
	}
	b = strconv.AppendBool(append(b, ' '), pr.Service)
	b = strconv.AppendBool(append(b, ' '), pr.Guest)
	b = strconv.AppendQuote(append(b, ' '), action)
	b = strconv.AppendQuote(append(b, ' '), channel)
	return string(b)
}
