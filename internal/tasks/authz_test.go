package tasks

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
)

// TestDefaultAuthorizer: today's rules. A task is read and changed by its
// creator and by service tokens with scaffolder.admin or *; anyone else
// reads "not found" and is refused a change with the reason; every
// template may be used; a caller lists its own tasks, an admin all.
func TestDefaultAuthorizer(t *testing.T) {
	ctx := t.Context()
	var a DefaultAuthorizer
	task := TaskInfo{ID: "t1", CreatedBy: "user:default/alice", Template: "template:default/x"}
	alice := auth.Identity{Ref: "user:default/alice"}
	bob := auth.Identity{Ref: "user:default/bob"}
	admin := auth.Identity{Ref: "service:ops", Service: true, Scopes: []string{"scaffolder.admin"}}
	root := auth.Identity{Ref: "service:root", Service: true, Scopes: []string{"*"}}
	runner := auth.Identity{Ref: "service:ci", Service: true, Scopes: []string{"scaffolder.run"}}
	// Scopes mean nothing on a user: only service tokens are admins.
	userWithScopes := auth.Identity{Ref: "user:default/carol", Scopes: []string{"*", "scaffolder.admin"}}
	nobody := auth.Identity{}

	actions := []string{ActionTaskRead, ActionTaskCancel, ActionTaskRetry, ActionTaskApprove}
	for _, who := range []auth.Identity{alice, admin, root} {
		for _, act := range actions {
			if err := a.Task(ctx, who, act, task); err != nil {
				t.Errorf("%s %s: %v, want allowed", who.Ref, act, err)
			}
		}
	}
	for _, who := range []auth.Identity{bob, runner, userWithScopes, nobody} {
		for _, act := range actions {
			err := a.Task(ctx, who, act, task)
			want := errs.ErrForbidden
			if act == ActionTaskRead {
				want = errs.ErrNotFound
			}
			if !errors.Is(err, want) {
				t.Errorf("%q %s: %v, want %v", who.Ref, act, err, want)
			}
			if act != ActionTaskRead && (err == nil || !strings.Contains(err.Error(), "only user:default/alice")) {
				t.Errorf("%q %s: the refusal does not say who may: %v", who.Ref, act, err)
			}
		}
	}
	// A task without a creator is no one's but the admins'.
	if err := a.Task(ctx, nobody, ActionTaskRead, TaskInfo{ID: "t2"}); err == nil {
		t.Error("a caller without a ref reads a task without a creator")
	}
	for _, act := range []string{ActionTemplateRead, ActionTemplateExecute} {
		if err := a.Template(ctx, bob, act, TemplateInfo{Ref: "template:default/x", Tags: []string{"privileged"}}); err != nil {
			t.Errorf("template %s: %v, want allowed as today", act, err)
		}
	}
	scopes := []struct {
		who  auth.Identity
		want ListScope
	}{
		{alice, ListScope{Users: []string{"user:default/alice"}}},
		{runner, ListScope{Users: []string{"service:ci"}}},
		{userWithScopes, ListScope{Users: []string{"user:default/carol"}}},
		{admin, ListScope{All: true}},
		{root, ListScope{All: true}},
		{nobody, ListScope{}},
	}
	for _, c := range scopes {
		got, err := a.ListScope(ctx, c.who)
		if err != nil || got.All != c.want.All || !slices.Equal(got.Users, c.want.Users) || len(got.Templates) != 0 {
			t.Errorf("ListScope(%q) = %+v, %v; want %+v", c.who.Ref, got, err, c.want)
		}
	}
}

// skeleton is a visibility query with every string literal (Temporal's
// syntax: single quotes, backslash escapes) replaced by ?, and the
// literals: what a value can change in the query is only its literal.
func skeleton(t *testing.T, q string) (string, []string) {
	t.Helper()
	var out strings.Builder
	var lits []string
	for i := 0; i < len(q); i++ {
		if q[i] != '\'' {
			out.WriteByte(q[i])
			continue
		}
		var lit strings.Builder
		i++
		for ; i < len(q) && q[i] != '\''; i++ {
			if q[i] == '\\' {
				i++
			}
			if i < len(q) {
				lit.WriteByte(q[i])
			}
		}
		if i >= len(q) {
			t.Fatalf("unterminated literal in %s", q)
		}
		out.WriteString("?")
		lits = append(lits, lit.String())
	}
	return out.String(), lits
}

// TestListQuery: the Authorizer's ListScope and the createdBy filter
// become the visibility query, each value one quoted literal, so a hostile
// user or template ref cannot widen what is listed.
func TestListQuery(t *testing.T) {
	hostile := `x' OR RiggerUser != 'y`
	backslashed := `a\' OR 1=1 OR RiggerUser = \`
	cases := []struct {
		name      string
		scope     ListScope
		createdBy []string
		skeleton  string
		literals  []string
		none      bool
	}{
		{name: "admin", scope: ListScope{All: true},
			skeleton: "WorkflowType = ?", literals: []string{"rigger.scaffold"}},
		{name: "admin, created by", scope: ListScope{All: true}, createdBy: []string{"user:default/bob", "user:default/o'neil"},
			skeleton: "WorkflowType = ? AND RiggerUser IN (?, ?)", literals: []string{"rigger.scaffold", "user:default/bob", "user:default/o'neil"}},
		{name: "own", scope: ListScope{Users: []string{"user:default/alice"}},
			skeleton: "WorkflowType = ? AND (RiggerUser IN (?))", literals: []string{"rigger.scaffold", "user:default/alice"}},
		{name: "users or templates", scope: ListScope{Users: []string{"user:default/alice", "group:default/team-a"}, Templates: []string{"template:default/go"}},
			skeleton: "WorkflowType = ? AND (RiggerUser IN (?, ?) OR RiggerTemplate IN (?))",
			literals: []string{"rigger.scaffold", "user:default/alice", "group:default/team-a", "template:default/go"}},
		{name: "templates", scope: ListScope{Templates: []string{"template:default/go"}}, createdBy: []string{"user:default/bob"},
			skeleton: "WorkflowType = ? AND (RiggerTemplate IN (?)) AND RiggerUser IN (?)",
			literals: []string{"rigger.scaffold", "template:default/go", "user:default/bob"}},
		{name: "hostile user", scope: ListScope{Users: []string{hostile}}, createdBy: []string{backslashed},
			skeleton: "WorkflowType = ? AND (RiggerUser IN (?)) AND RiggerUser IN (?)",
			literals: []string{"rigger.scaffold", hostile, backslashed}},
		{name: "hostile template", scope: ListScope{Templates: []string{`t') OR ('1' = '1`}},
			skeleton: "WorkflowType = ? AND (RiggerTemplate IN (?))",
			literals: []string{"rigger.scaffold", `t') OR ('1' = '1`}},
		{name: "nothing", scope: ListScope{}, none: true},
		{name: "nothing, created by", scope: ListScope{}, createdBy: []string{"user:default/alice"}, none: true},
	}
	for _, c := range cases {
		q, ok := listQuery(c.scope, c.createdBy, nil)
		if ok == c.none {
			t.Errorf("%s: listQuery says ok=%v (%q)", c.name, ok, q)
			continue
		}
		if c.none {
			continue
		}
		sk, lits := skeleton(t, q)
		if sk != c.skeleton || !slices.Equal(lits, c.literals) {
			t.Errorf("%s: %s\n  skeleton %s, literals %q\n  want     %s, literals %q", c.name, q, sk, lits, c.skeleton, c.literals)
		}
	}
}
