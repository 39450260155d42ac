package tasks

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
)

// Action statuses in an inventory.
const (
	ActionAvailable = "available"
	ActionDisabled  = "disabled" // in scaffolder.disabledActions
	ActionUnknown   = "unknown"  // no built-in, integration or external action has this id
)

// Inventory says which templates use which actions: what disabling an
// action would break, and what already is broken.
type Inventory struct {
	Actions   []ActionUse   `json:"actions"`
	Templates []TemplateUse `json:"templates"`
	// Invalid are templates that do not parse (their actions are unknown).
	Invalid []InvalidTemplate `json:"invalid"`
}

// ActionUse is one action and the templates whose steps use it.
type ActionUse struct {
	ID        string   `json:"id"`
	Status    string   `json:"status"`
	Queue     string   `json:"queue,omitempty"`
	Templates []string `json:"templates"`
}

// TemplateUse is one template's actions; Broken are those it cannot run
// (disabled or unknown).
type TemplateUse struct {
	Ref     string   `json:"ref"`
	Actions []string `json:"actions"`
	Broken  []string `json:"broken,omitempty"`
}

// InvalidTemplate is a stored template that does not parse.
type InvalidTemplate struct {
	Ref   string `json:"ref"`
	Error string `json:"error"`
}

// BuildInventory reads the steps of stored Template entities against the
// action registry. Every registered action is listed, used or not.
func BuildInventory(entities []*store.StoredEntity, reg *contract.Registry) Inventory {
	inv := Inventory{Actions: []ActionUse{}, Templates: []TemplateUse{}, Invalid: []InvalidTemplate{}}
	users := map[string][]string{}
	for _, name := range append(reg.Names(), reg.DisabledNames()...) {
		users[name] = []string{}
	}
	for _, e := range entities {
		t, err := templates.Parse(e.Ref, e.Body)
		if err != nil {
			inv.Invalid = append(inv.Invalid, InvalidTemplate{Ref: e.Ref, Error: err.Error()})
			continue
		}
		used := map[string]bool{}
		for _, st := range t.Spec.Steps {
			used[st.Action] = true
		}
		tu := TemplateUse{Ref: e.Ref, Actions: slices.Sorted(maps.Keys(used))}
		for _, a := range tu.Actions {
			users[a] = append(users[a], e.Ref)
			if actionStatus(reg, a) != ActionAvailable {
				tu.Broken = append(tu.Broken, a)
			}
		}
		inv.Templates = append(inv.Templates, tu)
	}
	for _, a := range slices.Sorted(maps.Keys(users)) {
		u := ActionUse{ID: a, Status: actionStatus(reg, a), Templates: users[a]}
		if info, ok := reg.Action(a); ok {
			u.Queue = info.TaskQueue
		}
		sort.Strings(u.Templates)
		inv.Actions = append(inv.Actions, u)
	}
	sort.Slice(inv.Templates, func(i, j int) bool { return inv.Templates[i].Ref < inv.Templates[j].Ref })
	return inv
}

func actionStatus(reg *contract.Registry, id string) string {
	switch {
	case reg.Disabled(id):
		return ActionDisabled
	case func() bool { _, ok := reg.Action(id); return ok }():
		return ActionAvailable
	default:
		return ActionUnknown
	}
}

// Breaks returns, for each of actions that some template uses, the
// templates that use it: what disabling them breaks.
func (inv Inventory) Breaks(actions []string) map[string][]string {
	out := map[string][]string{}
	for _, a := range inv.Actions {
		if slices.Contains(actions, a.ID) && len(a.Templates) > 0 {
			out[a.ID] = a.Templates
		}
	}
	return out
}

// MaxInventoryTemplates bounds the templates an inventory reads.
const MaxInventoryTemplates = 20000

// QueryFunc is a catalog query: the store's, or the catalog service's for
// one caller (only what it may read).
type QueryFunc func(ctx context.Context, q store.Query) (store.Page, error)

// ListTemplates pages through query for every Template entity, at most
// MaxInventoryTemplates.
func ListTemplates(ctx context.Context, query QueryFunc) ([]*store.StoredEntity, error) {
	q := store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"template"}}}}, Limit: 500}
	var out []*store.StoredEntity
	for {
		page, err := query(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Entities...)
		if !page.HasMore || page.Last == nil {
			return out, nil
		}
		if len(out) >= MaxInventoryTemplates {
			return nil, fmt.Errorf("more than %d templates: the inventory reads at most that many", MaxInventoryTemplates)
		}
		q.After = page.Last
	}
}

// Inventory builds the inventory of the templates query finds (for the
// API: the caller's readable templates).
func (s *Service) Inventory(ctx context.Context, query QueryFunc) (Inventory, error) {
	if s.d.Actions == nil {
		return Inventory{}, fmt.Errorf("%w: no action registry", errs.ErrUnavailable)
	}
	es, err := ListTemplates(ctx, query)
	if err != nil {
		return Inventory{}, err
	}
	return BuildInventory(es, s.d.Actions), nil
}
