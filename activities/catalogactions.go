package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/store"
)

// CatalogWrite implements catalog:write: writes entity as YAML to filePath
// (default catalog-info.yaml) in the workspace.
func (s *Scaffold) CatalogWrite(_ context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	var out contract.ActionOutput
	entity, ok := in.Input["entity"].(map[string]any)
	if !ok {
		return out, invalid(errors.New("input entity must be an object (the entity to write)"))
	}
	p, err := str(in.Input, "filePath")
	if err != nil {
		return out, invalid(err)
	}
	if p == "" {
		p = "catalog-info.yaml"
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(entity); err != nil {
		return out, invalid(fmt.Errorf("entity: %w", err))
	}
	return s.writeFile(in.TaskID, "filePath", p, buf.Bytes())
}

// writeFile writes one file into the task workspace.
func (s *Scaffold) writeFile(taskID, field, p string, data []byte) (contract.ActionOutput, error) {
	clean, err := workspacePath(field, p)
	if err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	root, err := s.Workspaces.Open(taskID)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	defer root.Close()
	if err := s.Workspaces.reserve(taskID, root, []fileWrite{{clean, int64(len(data))}}); err != nil {
		return contract.ActionOutput{}, invalid(err)
	}
	if dir := filepath.Dir(clean); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			s.Workspaces.forget(taskID)
			return contract.ActionOutput{}, invalid(rootErr(field, p, err))
		}
	}
	if err := root.WriteFile(clean, data, 0o644); err != nil {
		s.Workspaces.forget(taskID)
		return contract.ActionOutput{}, invalid(rootErr(field, p, err))
	}
	return contract.ActionOutput{Logs: []string{"wrote " + clean}}, nil
}

// CatalogFetch implements catalog:fetch: entityRef (output entity) or
// entityRefs (output entities, null where missing); optional tolerates
// missing entities.
func (s *Scaffold) CatalogFetch(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	var out contract.ActionOutput
	entities := s.Entities
	if entities == nil && s.Catalog != nil {
		entities = s.Catalog.Store
	}
	if entities == nil && !in.DryRun {
		return out, invalid(errors.New("catalog:fetch needs a worker with the catalog store"))
	}
	kind, _ := str(in.Input, "defaultKind")
	ns, _ := str(in.Input, "defaultNamespace")
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	// A dry run registers nothing, so what it would fetch may not exist
	// yet: missing entities are logged, not fatal.
	optional := in.Input["optional"] == true || in.DryRun
	one, err := str(in.Input, "entityRef")
	if err != nil {
		return out, invalid(err)
	}
	var many []string
	if in.Input["entityRefs"] != nil {
		if many, err = stringList(in.Input, "entityRefs"); err != nil {
			return out, invalid(err)
		}
	}
	if one == "" && many == nil {
		return out, invalid(errors.New("input entityRef or entityRefs is required"))
	}
	fetch := func(ref string) (any, error) {
		r, err := catalog.ParseRef(ref, kind, ns)
		if err != nil {
			return nil, invalid(fmt.Errorf("entity ref %q: %v", ref, err))
		}
		if entities == nil {
			out.Logs = append(out.Logs, fmt.Sprintf("dry run: no catalog here; %s not fetched", r))
			return nil, nil
		}
		e, err := entities.EntityByRef(ctx, r.Key())
		if err == nil && !s.mayRead(ctx, e) {
			// What the user may not read through the API is not found
			// here either (existence does not leak).
			err = errs.NotFound("no entity %s", r)
		}
		if errors.Is(err, errs.ErrNotFound) {
			if optional {
				out.Logs = append(out.Logs, fmt.Sprintf("entity %s not found", r))
				return nil, nil
			}
			return nil, invalid(fmt.Errorf("entity %s not found in the catalog", r))
		}
		if err != nil {
			return nil, err
		}
		var body map[string]any
		if err := json.Unmarshal(e.Body, &body); err != nil {
			return nil, err
		}
		if rels := s.readableRelations(ctx, entities, e.Relations); len(rels) > 0 {
			body["relations"] = rels
		}
		return body, nil
	}
	out.Output = map[string]any{}
	if one != "" {
		e, err := fetch(one)
		if err != nil {
			return out, err
		}
		out.Output["entity"] = e
	}
	if many != nil {
		list := make([]any, len(many))
		for i, ref := range many {
			if list[i], err = fetch(ref); err != nil {
				return out, err
			}
		}
		out.Output["entities"] = list
	}
	return out, nil
}

// CatalogRegister implements catalog:register: catalogInfoUrl, or
// repoContentsUrl plus catalogInfoPath, registers a url location, as in
// Backstage. Rigger extension: catalogInfoPath alone registers a file the
// run wrote in its workspace (kept under RegisteredDir). Either way the
// location is read at once (its entities are visible when the step ends)
// and the workflow then starts its refresh loop. Catalog rules apply as to
// any registered location.
func (s *Scaffold) CatalogRegister(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	var out contract.ActionOutput
	if s.Catalog == nil && !in.DryRun {
		return out, invalid(errors.New("catalog:register needs a worker with the catalog store"))
	}
	infoURL, _ := str(in.Input, "catalogInfoUrl")
	repo, _ := str(in.Input, "repoContentsUrl")
	infoPath, _ := str(in.Input, "catalogInfoPath")
	optional := in.Input["optional"] == true
	loc := store.Location{Type: "url", Target: infoURL}
	switch {
	case infoURL != "":
	case repo != "":
		if infoPath == "" {
			infoPath = "catalog-info.yaml"
		}
		loc.Target = strings.TrimSuffix(repo, "/") + "/" + strings.TrimPrefix(infoPath, "/")
	case infoPath != "":
		target, err := s.keepWorkspaceFile(in.TaskID, infoPath, in.DryRun)
		if err != nil {
			return out, err
		}
		loc = store.Location{Type: "file", Target: target}
	default:
		return out, invalid(errors.New("input catalogInfoUrl, repoContentsUrl or catalogInfoPath is required"))
	}
	if in.DryRun {
		out.Logs = append(out.Logs, fmt.Sprintf("dry run: would register %s location %s", loc.Type, loc.Target))
		out.Output = map[string]any{"catalogInfoUrl": loc.Target}
		if ref := s.workspaceEntityRef(in.TaskID, infoPath, loc.Type); ref != "" {
			out.Output["entityRef"] = ref
		}
		return out, nil
	}
	analyzed, err := s.Catalog.AnalyzeLocation(ctx, contract.CatalogAnalyzeInput{Type: loc.Type, Target: loc.Target})
	if err == nil && len(analyzed.Errors) > 0 {
		err = errors.New(strings.Join(analyzed.Errors, "; "))
	}
	if err != nil {
		if optional {
			out.Logs = append(out.Logs, fmt.Sprintf("not registered (optional): %v", err))
			return out, nil
		}
		return out, invalid(fmt.Errorf("%s cannot be registered: %v", loc.Target, err))
	}
	l, err := s.Catalog.Store.AddLocation(ctx, loc)
	if errors.Is(err, errs.ErrConflict) {
		l, err = s.existingLocation(ctx, loc)
	}
	if err != nil {
		return out, err
	}
	if _, err := s.Catalog.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: l.ID}); err != nil {
		return out, err
	}
	out.Output = map[string]any{"catalogInfoUrl": loc.Target}
	if ref := mainEntityRef(analyzed.Entities); ref != "" {
		out.Output["entityRef"] = ref
	}
	out.Logs = append(out.Logs, fmt.Sprintf("registered location %s (%s)", l.ID, loc.Target))
	out.StartRefresh = &contract.StartRefresh{LocationID: l.ID, Interval: s.RefreshInterval}
	return out, nil
}

func (s *Scaffold) existingLocation(ctx context.Context, loc store.Location) (store.Location, error) {
	all, err := s.Catalog.Store.ListLocations(ctx)
	if err != nil {
		return store.Location{}, err
	}
	for _, l := range all {
		if l.Type == loc.Type && l.Target == loc.Target {
			return l, nil
		}
	}
	return store.Location{}, errs.NotFound("location %s", loc.Target)
}

// keepWorkspaceFile copies a workspace file to RegisteredDir/<task>/ and
// returns its absolute path.
func (s *Scaffold) keepWorkspaceFile(taskID, p string, dryRun bool) (string, error) {
	clean, err := workspacePath("catalogInfoPath", p)
	if err != nil {
		return "", invalid(err)
	}
	if s.RegisteredDir == "" {
		return "", invalid(errors.New("catalogInfoPath without repoContentsUrl needs scaffolder registered files (not configured on this worker)"))
	}
	root, err := s.Workspaces.Open(taskID)
	if err != nil {
		return "", err
	}
	defer root.Close()
	data, err := root.ReadFile(clean)
	if err != nil {
		return "", invalid(rootErr("catalogInfoPath", p, err))
	}
	if err := checkRegisteredFile(clean, data, s.catalogModel()); err != nil {
		return "", invalid(err)
	}
	dst := filepath.Join(s.RegisteredDir, taskID, path.Base(filepath.ToSlash(clean)))
	if dryRun {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return "", err
	}
	return filepath.Abs(dst)
}

// checkRegisteredFile refuses what would let a file written by a run read
// anything else once registered as a file location: $text/$json/$yaml
// placeholders (they read other files) and Location entities (they point
// at other files). Values in a run's files can come from its parameters,
// so nothing in them may be followed. The copy under RegisteredDir is
// rigger's own and never changes afterwards.
func checkRegisteredFile(name string, data []byte, model *catalog.Model) error {
	docs, err := catalog.ParseWith(name, data, catalog.Limits{}, catalog.Policy{Model: model})
	if err != nil {
		return err
	}
	for _, d := range docs {
		if len(d.Errors) > 0 {
			return d.Errors[0]
		}
		if strings.EqualFold(d.Entity.Kind(), "location") {
			return fmt.Errorf("catalogInfoPath %s: document %d is a Location; a file registered from a task may only hold entities, not point at other files", name, d.Index+1)
		}
		if key := placeholderKey(map[string]any(d.Entity)); key != "" {
			return fmt.Errorf("catalogInfoPath %s: document %d uses a %s placeholder; a file registered from a task may not read other files", name, d.Index+1, key)
		}
	}
	return nil
}

// placeholderKey returns the first $text/$json/$yaml key found in v.
func placeholderKey(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "$text" || k == "$json" || k == "$yaml" {
				return k
			}
			if p := placeholderKey(e); p != "" {
				return p
			}
		}
	case []any:
		for _, e := range x {
			if p := placeholderKey(e); p != "" {
				return p
			}
		}
	}
	return ""
}

// catalogModel is the catalog.model entities are checked against (nil:
// built-in kinds only, when the worker has no catalog).
func (s *Scaffold) catalogModel() *catalog.Model {
	if s.Catalog == nil {
		return nil
	}
	return s.Catalog.Model
}

// workspaceEntityRef is the main entity of a descriptor in the workspace
// (what a dry run of catalog:register reports), or "".
func (s *Scaffold) workspaceEntityRef(taskID, p, typ string) string {
	if typ != "file" {
		return ""
	}
	root, err := s.Workspaces.Open(taskID)
	if err != nil {
		return ""
	}
	defer root.Close()
	clean, err := workspacePath("catalogInfoPath", p)
	if err != nil {
		return ""
	}
	data, err := root.ReadFile(clean)
	if err != nil {
		return ""
	}
	docs, err := catalog.ParseWith(clean, data, catalog.Limits{}, catalog.Policy{Model: s.catalogModel()})
	if err != nil {
		return ""
	}
	var bodies []json.RawMessage
	for _, d := range docs {
		if d.Entity != nil {
			if b, err := json.Marshal(d.Entity); err == nil {
				bodies = append(bodies, b)
			}
		}
	}
	return mainEntityRef(bodies)
}

// mainEntityRef picks the entity a registration is about: the first that
// is not a Location (Backstage does the same).
func mainEntityRef(bodies []json.RawMessage) string {
	first := ""
	for _, b := range bodies {
		var e struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if json.Unmarshal(b, &e) != nil || e.Kind == "" {
			continue
		}
		ns := e.Metadata.Namespace
		if ns == "" {
			ns = catalog.DefaultNamespace
		}
		ref := strings.ToLower(e.Kind + ":" + ns + "/" + e.Metadata.Name)
		if !strings.EqualFold(e.Kind, "location") {
			return ref
		}
		if first == "" {
			first = ref
		}
	}
	return first
}

// mayRead decides EntityRead on e for the run's user (the verified run's
// claims), as the catalog API does; without a policy everything is
// readable, and a policy with no verified run reads nothing.
func (s *Scaffold) mayRead(ctx context.Context, e *store.StoredEntity) bool {
	if s.Policy == nil {
		return true
	}
	c, ok := ctx.Value(claimsKey{}).(runsign.Claims)
	if !ok {
		return false
	}
	res, err := permission.StoredResource(e)
	if err != nil {
		return false
	}
	who := permission.Principal{Ref: c.UserRef, Ent: c.Ent, Service: c.Service, Scopes: c.Scopes, Channel: c.Channel}
	return s.Policy.Authorize(who, permission.EntityRead, res).Allowed
}

// readableRelations drops the relations whose target the run's user may
// not read (a target that does not exist is kept: it reveals nothing).
func (s *Scaffold) readableRelations(ctx context.Context, entities EntityReader, rels []store.Relation) []store.Relation {
	if s.Policy == nil {
		return rels
	}
	out := make([]store.Relation, 0, len(rels))
	for _, r := range rels {
		key := r.Target
		if ref, err := catalog.ParseRef(r.Target, "", catalog.DefaultNamespace); err == nil {
			key = ref.Key()
		}
		t, err := entities.EntityByRef(ctx, key)
		if errors.Is(err, errs.ErrNotFound) || (err == nil && s.mayRead(ctx, t)) {
			out = append(out, r)
		}
	}
	return out
}
