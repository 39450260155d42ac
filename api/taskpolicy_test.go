package api

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/tasks"
)

const templatePolicyCatalog = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: hello, tags: [starter]}
spec: {type: service, owner: team-c, steps: [{id: log, action: 'debug:log', input: {message: hi}}]}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: prod-db, tags: [privileged]}
spec: {type: resource, owner: group:default/platform-admins, steps: [{id: log, action: 'debug:log', input: {message: hi}}]}
`

// TestPolicyAuthorizerDefaultPolicy: under the default policy, everyone
// signed in runs an ordinary template but only platform admins run a
// privileged one (others get 403 with the policy's reason); a task is
// read by its creator, its template's owners and admins, and listed
// accordingly; a service token restricted to a template or an action
// cannot leave it, and never reads another's task with scaffolder.run.
func TestPolicyAuthorizerDefaultPolicy(t *testing.T) {
	for name, st := range bothStores(t, templatePolicyCatalog) {
		t.Run(name, func(t *testing.T) { checkPolicyAuthorizer(t, st) })
	}
}

// bothStores holds the entities of yaml in a SQLite and a PostgreSQL
// store.
func bothStores(t *testing.T, yaml string) map[string]store.Store {
	t.Helper()
	out := emptyStores(t)
	for _, st := range out {
		storetest.Seed(t, st, yaml)
	}
	return out
}

func checkPolicyAuthorizer(t *testing.T, st store.Store) {
	ctx := context.Background()
	pol, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	a := tasks.PolicyAuthorizer{Policy: pol, Catalog: st}
	alice := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	erin := auth.Identity{Ref: "user:default/erin", Ent: []string{"user:default/erin", "group:default/team-c"}}
	admin := auth.Identity{Ref: "user:default/pat", Ent: []string{"user:default/pat", "group:default/platform-admins"}}
	ci := auth.Identity{Ref: "service:ci", Service: true, Scopes: []string{"scaffolder.run"}, Templates: []string{"template:default/hello"}, Actions: []string{"fetch:template"}}
	ops := auth.Identity{Ref: "service:ops", Service: true, Scopes: []string{"scaffolder.admin"}}
	hello := tasks.TemplateInfo{Ref: "template:default/hello"}
	prodDB := tasks.TemplateInfo{Ref: "template:default/prod-db"}

	forbidden := func(name string, err error, says string) {
		t.Helper()
		if !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want 403 saying %q", name, err, says)
		}
	}
	allowed := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	allowed("alice runs hello", a.Template(ctx, alice, tasks.ActionTemplateExecute, hello))
	allowed("alice sees prod-db", a.Template(ctx, alice, tasks.ActionTemplateRead, prodDB))
	forbidden("alice runs prod-db", a.Template(ctx, alice, tasks.ActionTemplateExecute, prodDB), "no policy permits scaffolder.template.execute")
	allowed("a platform admin runs prod-db", a.Template(ctx, admin, tasks.ActionTemplateExecute, prodDB))
	allowed("ci runs the template it is restricted to", a.Template(ctx, ci, tasks.ActionTemplateExecute, hello))
	forbidden("ci runs another template", a.Template(ctx, ci, tasks.ActionTemplateExecute, prodDB), "this token may run only template:default/hello")
	allowed("ci runs its action", a.Action(ctx, ci, "fetch:template"))
	forbidden("ci runs another action", a.Action(ctx, ci, "publish:github"), "may run only the actions fetch:template")
	guest := auth.Identity{Ref: auth.GuestRefReadOnly, Guest: true}
	forbidden("the guest runs an action", a.Action(ctx, guest, "debug:log"), "no policy permits")

	task := tasks.TaskInfo{ID: "t1", CreatedBy: "user:default/alice", Template: "template:default/hello", TemplateOwner: "group:default/team-c"}
	allowed("the creator reads", a.Task(ctx, alice, tasks.ActionTaskRead, task))
	allowed("the template's owner reads", a.Task(ctx, erin, tasks.ActionTaskRead, task))
	allowed("an admin cancels", a.Task(ctx, admin, tasks.ActionTaskCancel, task))
	bob := auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob", "group:default/team-b"}}
	forbidden("bob cancels", a.Task(ctx, bob, tasks.ActionTaskCancel, task), "no policy permits scaffolder.task.cancel")
	forbidden("ci reads alice's task", a.Task(ctx, ci, tasks.ActionTaskRead, task), "no policy permits")
	allowed("ops (scaffolder.admin) reads it", a.Task(ctx, ops, tasks.ActionTaskRead, task))

	scopes := map[string]tasks.ListScope{}
	for name, who := range map[string]auth.Identity{"alice": alice, "erin": erin, "admin": admin, "ci": ci, "ops": ops, "guest": guest} {
		s, err := a.ListScope(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		scopes[name] = s
	}
	if s := scopes["alice"]; s.All || !slices.Equal(s.Users, []string{"user:default/alice"}) || len(s.Templates) != 0 {
		t.Errorf("alice lists %+v", s)
	}
	if s := scopes["erin"]; s.All || !slices.Equal(s.Templates, []string{"template:default/hello"}) {
		t.Errorf("erin (owns hello) lists %+v", s)
	}
	if !scopes["admin"].All || !scopes["ops"].All {
		t.Errorf("admins list everything: %+v %+v", scopes["admin"], scopes["ops"])
	}
	if s := scopes["ci"]; s.All || !slices.Equal(s.Users, []string{"service:ci"}) {
		t.Errorf("ci lists %+v", s)
	}
	if s := scopes["guest"]; s.All || len(s.Users)+len(s.Templates) != 0 {
		t.Errorf("the guest lists %+v", s)
	}
}

// TestPolicyAuthorizerUploadedTemplate: a dry run's template, which the
// catalog does not hold, is decided on what it says (its tags), so a
// privileged one is refused to a developer and allowed to an admin.
func TestPolicyAuthorizerUploadedTemplate(t *testing.T) {
	ctx := context.Background()
	srv, _ := catalogServer(t, templatePolicyCatalog)
	pol, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	a := tasks.PolicyAuthorizer{Policy: pol, Catalog: srv.deps.Catalog.Store}
	alice := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	admin := auth.Identity{Ref: "user:default/pat", Ent: []string{"user:default/pat", "group:default/platform-admins"}}
	plain := tasks.TemplateInfo{Ref: "template:default/uploaded", Owner: "team-a"}
	privileged := tasks.TemplateInfo{Ref: "template:default/uploaded", Owner: "team-a", Tags: []string{"privileged"}}
	// Named like an ordinary catalog template, an uploaded privileged one is
	// still decided on its own tags.
	disguised := tasks.TemplateInfo{Ref: "template:default/hello", Owner: "team-c", Tags: []string{"privileged"}, Uploaded: true}
	if err := a.Template(ctx, alice, tasks.ActionTemplateExecute, plain); err != nil {
		t.Errorf("alice dry-runs an uploaded template: %v", err)
	}
	if err := a.Template(ctx, alice, tasks.ActionTemplateExecute, privileged); !errors.Is(err, errs.ErrForbidden) {
		t.Errorf("alice dry-runs an uploaded privileged template: %v", err)
	}
	if err := a.Template(ctx, admin, tasks.ActionTemplateExecute, privileged); err != nil {
		t.Errorf("an admin dry-runs it: %v", err)
	}
	if err := a.Template(ctx, alice, tasks.ActionTemplateExecute, disguised); !errors.Is(err, errs.ErrForbidden) {
		t.Errorf("alice dry-runs a privileged template named like hello: %v", err)
	}
}
