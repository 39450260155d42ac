package catalogsvc

import (
	"context"
	"errors"
	"fmt"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/docs"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/techdocs"
	"github.com/riggerdev/rigger/workflows"
)

// DocsSites reads built documentation sites and publishes those built
// elsewhere (internal/techdocs.Sites).
type DocsSites interface {
	Site(ctx context.Context, ref string) (store.DocsSite, error)
	File(ctx context.Context, ref, path string) ([]byte, string, error)
	Progress(ctx context.Context, ref string) ([]string, error)
	PublishSource(ctx context.Context, ref string, src techdocs.Source, opt docs.Options) (*docs.Site, error)
}

// TechDocsRef is the annotation naming where an entity's docs are.
const TechDocsRef = "backstage.io/techdocs-ref"

// DocsEntity is the entity whose docs who asks for: it must be readable and
// its docs too (docs.read: a sensitive entity's docs are as protected as
// the entity). Either refusal is "not found", so existence does not leak.
func (s *Service) DocsEntity(ctx context.Context, who auth.Identity, kind, namespace, name string) (*store.StoredEntity, error) {
	ref := nameKey(kind, namespace, name)
	notFound := errs.NotFound("no entity named %q", ref)
	e, err := s.EntityByRef(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	if !s.mayEntity(who, permission.DocsRead, e).Allowed {
		return nil, notFound
	}
	return e, nil
}

// DocsSite is the site record of an entity's docs, for who.
func (s *Service) DocsSite(ctx context.Context, who auth.Identity, kind, namespace, name string) (store.DocsSite, *store.StoredEntity, error) {
	if s.d.Docs == nil {
		return store.DocsSite{}, nil, fmt.Errorf("%w: docs are not served here", errs.ErrUnavailable)
	}
	e, err := s.DocsEntity(ctx, who, kind, namespace, name)
	if err != nil {
		return store.DocsSite{}, nil, err
	}
	site, err := s.d.Docs.Site(ctx, e.Ref)
	if errors.Is(err, errs.ErrNotFound) {
		if !hasDocs(e) {
			return site, e, errs.NotFound("%s has no %s annotation: it has no docs", e.Ref, TechDocsRef)
		}
		return site, e, errs.NotFound("the docs of %s have not been built yet", e.Ref)
	}
	return site, e, err
}

// DocsProgress is what a running build of an entity's docs has logged so
// far, for who.
func (s *Service) DocsProgress(ctx context.Context, who auth.Identity, kind, namespace, name string) ([]string, error) {
	if s.d.Docs == nil {
		return nil, fmt.Errorf("%w: docs are not served here", errs.ErrUnavailable)
	}
	e, err := s.DocsEntity(ctx, who, kind, namespace, name)
	if err != nil {
		return nil, err
	}
	return s.d.Docs.Progress(ctx, e.Ref)
}

// DocsFile is one file of an entity's last good site, for who.
func (s *Service) DocsFile(ctx context.Context, who auth.Identity, kind, namespace, name, path string) ([]byte, string, error) {
	if s.d.Docs == nil {
		return nil, "", fmt.Errorf("%w: docs are not served here", errs.ErrUnavailable)
	}
	e, err := s.DocsEntity(ctx, who, kind, namespace, name)
	if err != nil {
		return nil, "", err
	}
	return s.d.Docs.File(ctx, e.Ref, path)
}

// SyncDocs starts a build of an entity's docs for who (or, if one is
// running, asks it to build again when done) and returns the run to wait
// for. force builds even an unchanged source.
func (s *Service) SyncDocs(ctx context.Context, who auth.Identity, kind, namespace, name string, force bool) (client.WorkflowRun, error) {
	e, err := s.DocsEntity(ctx, who, kind, namespace, name)
	if err != nil {
		return nil, err
	}
	if !hasDocs(e) {
		return nil, errs.Invalid("%s has no %s annotation: there are no docs to build", e.Ref, TechDocsRef)
	}
	if force {
		if err := s.MayForceDocs(who, e); err != nil {
			return nil, err
		}
	}
	if s.d.DocsExternal {
		return nil, nil
	}
	return StartDocsBuild(ctx, s.d.Temporal, e.Ref, force)
}

// MayForceDocs refuses who a forced docs build of e (a rebuild of an
// unchanged source) unless it may refresh the entity
// (catalog.entity.refresh): reading the docs is not enough.
func (s *Service) MayForceDocs(who auth.Identity, e *store.StoredEntity) error {
	if d := s.mayEntity(who, permission.EntityRefresh, e); !d.Allowed {
		return errs.Forbidden("force=true rebuilds the docs of %s even when their source is unchanged, which needs %s on it: %s", e.Ref, permission.EntityRefresh, d.Reason)
	}
	return nil
}

// RunningDocsBuild is the running build of an entity's docs, for who to
// wait on (nil: none is running, or docs are built outside). It starts
// nothing.
func (s *Service) RunningDocsBuild(ctx context.Context, who auth.Identity, kind, namespace, name string) (client.WorkflowRun, error) {
	e, err := s.DocsEntity(ctx, who, kind, namespace, name)
	if err != nil || s.d.DocsExternal {
		return nil, err
	}
	id := workflows.DocsWorkflowID(e.Ref)
	d, err := s.d.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("docs build of %s: %w", e.Ref, err)
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, nil
	}
	return s.d.Temporal.GetWorkflow(ctx, id, info.GetExecution().GetRunId()), nil
}

// PublishDocs builds a docs source an external builder sent (rigger docs
// publish in CI) and publishes it as the entity's site, when docs are
// built outside (docs.builder: external). who must be able to read the
// entity and its docs, and to publish them (docs.publish: by default its
// owners and catalog.write services).
func (s *Service) PublishDocs(ctx context.Context, who auth.Identity, kind, namespace, name string, src techdocs.Source) (*docs.Site, error) {
	if s.d.Docs == nil {
		return nil, fmt.Errorf("%w: docs are not served here", errs.ErrUnavailable)
	}
	if !s.d.DocsExternal {
		return nil, errs.Invalid("docs are built by Rigger here (docs.builder: local): set docs.builder: external to publish them from CI")
	}
	e, err := s.DocsEntity(ctx, who, kind, namespace, name)
	if err != nil {
		return nil, err
	}
	if !hasDocs(e) {
		return nil, errs.Invalid("%s has no %s annotation: give it one (e.g. dir:.) before publishing its docs", e.Ref, TechDocsRef)
	}
	if err := forbidden(s.mayEntity(who, permission.DocsPublish, e)); err != nil {
		return nil, err
	}
	return s.d.Docs.PublishSource(ctx, e.Ref, src, docs.Options{SiteName: name})
}

// StartDocsBuild starts ref's docs build, or signals the running one.
func StartDocsBuild(ctx context.Context, c client.Client, ref string, force bool) (client.WorkflowRun, error) {
	id := workflows.DocsWorkflowID(ref)
	return c.SignalWithStartWorkflow(ctx, id, workflows.DocsRebuildSignal, force,
		client.StartWorkflowOptions{ID: id, TaskQueue: contract.QueueDefault},
		workflows.DocsBuildName, workflows.DocsBuildWorkflowInput{Ref: ref})
}

// hasDocs says whether an entity names its docs.
func hasDocs(e *store.StoredEntity) bool { return DocsRefOf(e) != "" }

// DocsRefOf is an entity's backstage.io/techdocs-ref ("" when none).
func DocsRefOf(e *store.StoredEntity) string {
	v, _ := catalog.Annotations(e.Body)[TechDocsRef].(string)
	return v
}
