package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/riggerdev/rigger/internal/catalog"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// TemplateCatalog is what PolicyAuthorizer reads of the catalog: a
// template by ref, and the templates some owners own.
type TemplateCatalog interface {
	EntityByRef(ctx context.Context, ref string) (*store.StoredEntity, error)
	Query(ctx context.Context, q store.Query) (store.Page, error)
}

// PolicyAuthorizer decides with the permission policy (Cedar): templates
// as Rigger::Entity resources (their tags, owner, annotations), tasks as
// Rigger::Task (creator, template, template owner). A service token's
// template restriction (auth.Identity.Templates) applies on top.
type PolicyAuthorizer struct {
	Policy  *permission.Policy
	Catalog TemplateCatalog
}

// maxOwnedTemplates bounds the templates whose tasks a template owner
// lists (beyond them, their own tasks still list).
const maxOwnedTemplates = 500

// Template implements Authorizer.
func (a PolicyAuthorizer) Template(ctx context.Context, who auth.Identity, action string, tmpl TemplateInfo) error {
	if action == ActionTemplateExecute && len(who.Templates) > 0 && !slices.ContainsFunc(who.Templates, func(t string) bool { return strings.EqualFold(t, tmpl.Ref) }) {
		return fmt.Errorf("%w: this token may run only %s", errs.ErrForbidden, strings.Join(who.Templates, ", "))
	}
	res, err := a.templateResource(ctx, tmpl)
	if err != nil {
		return err
	}
	return decision(a.Policy.Authorize(who.Principal(), action, res))
}

// templateResource is the template as the catalog holds it (its
// annotations, tags and owner as registered); a template the catalog does
// not hold — a dry run's uploaded one — is described by what tmpl says.
func (a PolicyAuthorizer) templateResource(ctx context.Context, tmpl TemplateInfo) (permission.Resource, error) {
	if tmpl.Uploaded {
		return uploadedResource(tmpl)
	}
	e, err := tmpl.Entity, error(nil)
	if e == nil {
		e, err = a.Catalog.EntityByRef(ctx, tmpl.Ref)
	}
	switch {
	case err == nil:
		res, err := permission.StoredResource(e)
		if err != nil {
			return res, fmt.Errorf("%w: %v", errs.ErrForbidden, err)
		}
		return res, nil
	case !errors.Is(err, errs.ErrNotFound):
		return permission.Resource{}, err
	}
	return uploadedResource(tmpl)
}

// uploadedResource describes a template by what TemplateInfo says.
func uploadedResource(tmpl TemplateInfo) (permission.Resource, error) {
	r, err := catalog.ParseRef(tmpl.Ref, "template", catalog.DefaultNamespace)
	if err != nil {
		return permission.Resource{}, errs.Invalid("template ref %q: %v", tmpl.Ref, err)
	}
	body, err := json.Marshal(map[string]any{"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
		"metadata": map[string]any{"name": r.Name, "namespace": r.Namespace, "tags": tmpl.Tags},
		"spec":     map[string]any{"owner": tmpl.Owner}})
	if err != nil {
		return permission.Resource{}, err
	}
	return permission.EntityResource(body)
}

// Task implements Authorizer.
func (a PolicyAuthorizer) Task(_ context.Context, who auth.Identity, action string, t TaskInfo) error {
	return decision(a.Policy.Authorize(who.Principal(), action, permission.TaskResource(t.ID, t.CreatedBy, t.Template, t.TemplateOwner)))
}

// ListScope implements Authorizer: a caller the policy lets read a task
// of nobody, from no template, reads every task (admins); otherwise its
// own tasks, if the policy lets it read those, and the tasks of the
// templates its ownership refs own, if the policy lets a template owner
// read them.
func (a PolicyAuthorizer) ListScope(ctx context.Context, who auth.Identity) (ListScope, error) {
	p := who.Principal()
	read := func(createdBy, template, owner string) bool {
		return a.Policy.Authorize(p, ActionTaskRead, permission.TaskResource("", createdBy, template, owner)).Allowed
	}
	if read("", "", "") {
		return ListScope{All: true}, nil
	}
	var scope ListScope
	if who.Ref != "" && read(who.Ref, "", "") {
		scope.Users = []string{who.Ref}
	}
	if len(who.Ent) == 0 || who.Guest {
		return scope, nil
	}
	page, err := a.Catalog.Query(ctx, store.Query{Limit: maxOwnedTemplates,
		Filter: store.Filter{{{Key: "kind", Values: []string{"template"}}, {Key: "relations.ownedBy", Values: who.Ent}}}})
	if err != nil {
		return scope, err
	}
	for _, e := range page.Entities {
		if owner := ownerOf(e); owner != "" && read("", e.Ref, owner) {
			scope.Templates = append(scope.Templates, e.Ref)
		}
	}
	return scope, nil
}

// Action implements Authorizer.
func (a PolicyAuthorizer) Action(_ context.Context, who auth.Identity, action string) error {
	if err := tokenMayRun(who, action); err != nil {
		return err
	}
	return decision(a.Policy.Authorize(who.Principal(), ActionActionExecute, permission.ActionResource(action)))
}

func decision(d permission.Decision) error {
	if d.Allowed {
		return nil
	}
	return fmt.Errorf("%w: %s", errs.ErrForbidden, d.Reason)
}
