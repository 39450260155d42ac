package catalogsvc

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/workflows"
)

// Locations lists the locations who may read.
func (s *Service) Locations(ctx context.Context, who auth.Identity) ([]store.Location, error) {
	ls, err := s.d.Store.ListLocations(ctx)
	if err != nil {
		return nil, err
	}
	out := ls[:0] // the store's slice is the caller's: filtered in place
	for _, l := range ls {
		if s.mayLocation(who, permission.LocationRead, l).Allowed {
			out = append(out, l)
		}
	}
	return out, nil
}

// Location looks a location up for who: one it may not read is not found.
func (s *Service) Location(ctx context.Context, who auth.Identity, id string) (store.Location, error) {
	l, err := s.d.Store.GetLocation(ctx, id)
	if err == nil && !s.mayLocation(who, permission.LocationRead, l).Allowed {
		return store.Location{}, errs.NotFound("no location with id %q", id)
	}
	return l, err
}

// LocationOfEntity is the location the entity ref (a store key) was read
// from; an entity who may not read owns no location.
func (s *Service) LocationOfEntity(ctx context.Context, who auth.Identity, ref string) (store.Location, error) {
	if s.d.Policy != nil {
		if _, err := s.EntityByRef(ctx, who, ref); err != nil {
			return store.Location{}, errs.NotFound("no location owns entity %q", ref)
		}
	}
	return s.d.Store.LocationOfEntity(ctx, ref)
}

// mayCreateLocation checks the type and asks the policy whether who may
// register typ:target.
func (s *Service) mayCreateLocation(who auth.Identity, typ, target string) error {
	if err := s.checkLocationType(typ); err != nil {
		return err
	}
	return forbidden(s.mayLocation(who, permission.LocationCreate, store.Location{Type: typ, Target: target}))
}

// AddLocation registers typ:target for who and starts its refresh loop.
// An existing location is the store's ErrConflict.
func (s *Service) AddLocation(ctx context.Context, who auth.Identity, typ, target string) (store.Location, error) {
	if err := s.mayCreateLocation(who, typ, target); err != nil {
		return store.Location{}, err
	}
	l, err := s.d.Store.AddLocation(ctx, store.Location{Type: typ, Target: target})
	if err != nil {
		return store.Location{}, err
	}
	if err := s.startRefresh(ctx, l.ID); err != nil {
		return store.Location{}, err
	}
	return l, nil
}

// DryRun is what registering a location would read.
type DryRun struct {
	Entities []json.RawMessage
	// Exists: the location is registered already.
	Exists    bool
	Truncated bool
}

// DryRunLocation reads typ:target as AddLocation would register it, if who
// may register it, and stores nothing.
func (s *Service) DryRunLocation(ctx context.Context, who auth.Identity, typ, target string) (DryRun, error) {
	if err := s.mayCreateLocation(who, typ, target); err != nil {
		return DryRun{}, err
	}
	res, err := s.analyze(ctx, typ, target)
	if err != nil {
		return DryRun{}, err
	}
	out := DryRun{Entities: res.Entities, Truncated: res.Truncated}
	if ls, err := s.d.Store.ListLocations(ctx); err == nil {
		for _, l := range ls {
			if l.Type == typ && l.Target == target {
				out.Exists = true
			}
		}
	}
	if out.Entities == nil {
		out.Entities = []json.RawMessage{}
	}
	return out, nil
}

// AnalyzedFile is one entity a location holds.
type AnalyzedFile struct {
	Entity map[string]any
	// Registered: the catalog holds an entity of that name that who may
	// read.
	Registered bool
}

// AnalyzeLocation reads typ:target as if registered and lists its
// entities, each marked registered or not.
func (s *Service) AnalyzeLocation(ctx context.Context, who auth.Identity, typ, target string) ([]AnalyzedFile, error) {
	if err := s.checkLocationType(typ); err != nil {
		return nil, err
	}
	res, err := s.analyze(ctx, typ, target)
	if err != nil {
		return nil, err
	}
	files := []AnalyzedFile{}
	for _, raw := range res.Entities {
		var ent map[string]any
		if json.Unmarshal(raw, &ent) != nil {
			continue
		}
		_, err := s.EntityByRef(ctx, who, catalog.Entity(ent).Ref().Key())
		files = append(files, AnalyzedFile{Entity: ent, Registered: err == nil})
	}
	return files, nil
}

// DeleteLocation deletes the location id and the entities it owns, if who
// may, and stops its refresh loop.
func (s *Service) DeleteLocation(ctx context.Context, who auth.Identity, id string) error {
	if s.d.Policy != nil {
		l, err := s.Location(ctx, who, id)
		if err != nil {
			return err
		}
		if err := forbidden(s.mayLocation(who, permission.LocationDelete, l)); err != nil {
			return err
		}
	}
	if err := s.d.Store.DeleteLocation(ctx, id); err != nil {
		return err
	}
	err := s.d.Temporal.TerminateWorkflow(ctx, workflows.CatalogWorkflowID(id), "", "location deleted")
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		s.d.Logger.Warn("stop catalog refresh", "location", id, "error", err)
	}
	return nil
}

// checkLocationType refuses location types callers may not register.
func (s *Service) checkLocationType(typ string) error {
	switch {
	case typ == "file" && !s.d.AllowFileLocations:
		return errs.Invalid("file locations can only be configured in rigger.yaml (catalog.locations), not registered through the API")
	case typ != "url" && typ != "file" && typ != "git":
		return errs.Invalid("location type %q is not supported (url, git as https://host/repo.git#path, or file in rigger dev)", typ)
	}
	return nil
}

// analyze reads a location through a short workflow (the service does no
// reading itself): its entities, nothing stored; problems are errors.
func (s *Service) analyze(ctx context.Context, typ, target string) (*contract.CatalogAnalyzeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	run, err := s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "catalog-analyze-" + uuid.NewString(), TaskQueue: contract.QueueDefault, WorkflowExecutionTimeout: 3 * time.Minute,
	}, workflows.CatalogAnalyzeName, contract.CatalogAnalyzeInput{Type: typ, Target: target})
	if err != nil {
		s.d.Logger.Error("start catalog dry run", "error", err)
		return nil, fmt.Errorf("start dry run: %w", errs.ErrUnavailable)
	}
	var res contract.CatalogAnalyzeResult
	if err := run.Get(ctx, &res); err != nil {
		return nil, errs.Invalid("reading %s: %v", target, err)
	}
	if len(res.Errors) > 0 {
		return nil, errs.Invalid("%s", strings.Join(res.Errors, "\n"))
	}
	return &res, nil
}

// startRefresh starts (or, if running, signals) the location's refresh loop.
func (s *Service) startRefresh(ctx context.Context, locationID string) error {
	_, err := s.d.Temporal.SignalWithStartWorkflow(ctx, workflows.CatalogWorkflowID(locationID),
		workflows.CatalogRefreshSignal, nil,
		client.StartWorkflowOptions{ID: workflows.CatalogWorkflowID(locationID), TaskQueue: contract.QueueDefault},
		workflows.CatalogRefreshName, workflows.CatalogRefreshInput{LocationID: locationID, Interval: s.d.RefreshInterval})
	if err != nil {
		s.d.Logger.Error("start catalog refresh", "location", locationID, "error", err)
		return fmt.Errorf("start refresh: %w", errs.ErrUnavailable)
	}
	return nil
}

// GeneratedLocation is the Location entity Backstage generates for a
// registered location (location:default/generated-<sha1 of "type:target">),
// the root of its entities' ancestry. Rigger stores none: it is made up
// from the location on request.
type GeneratedLocation struct {
	Location store.Location
	// Name is generated-<sha1 hex>.
	Name string
}

// generatedName is the name of l's generated Location entity.
func generatedName(l store.Location) string {
	sum := sha1.Sum([]byte(l.Type + ":" + l.Target))
	return "generated-" + hex.EncodeToString(sum[:])
}

// generatedRef is the ref of the generated Location entity named name.
func generatedRef(name string) string { return "location:default/" + name }

// Ref is the entity's ref.
func (g *GeneratedLocation) Ref() string { return generatedRef(g.Name) }

// Entity is the generated Location entity.
func (g *GeneratedLocation) Entity() map[string]any {
	l := g.Location
	return map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "Location",
		"metadata": map[string]any{"name": g.Name, "namespace": "default", "annotations": map[string]any{
			"backstage.io/managed-by-location":        l.Type + ":" + l.Target,
			"backstage.io/managed-by-origin-location": l.Type + ":" + l.Target,
		}},
		"spec": map[string]any{"type": l.Type, "target": l.Target},
	}
}

// generatedLocation finds the location whose generated Location entity the
// kind, namespace and name address, if who may read it, so that the root
// ancestry names exists.
func (s *Service) generatedLocation(ctx context.Context, who auth.Identity, kind, namespace, name string) (*GeneratedLocation, bool) {
	name = strings.ToLower(name)
	if !strings.EqualFold(kind, "location") || !strings.EqualFold(namespace, "default") || !strings.HasPrefix(name, "generated-") {
		return nil, false
	}
	locs, err := s.d.Store.ListLocations(ctx)
	if err != nil {
		return nil, false
	}
	for _, l := range locs {
		if generatedName(l) == name && s.mayLocation(who, permission.LocationRead, l).Allowed {
			return &GeneratedLocation{Location: l, Name: name}, true
		}
	}
	return nil, false
}
