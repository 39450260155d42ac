package tasks

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// DryRunRequest is a template given inline, run without side effects on
// its own files.
type DryRunRequest struct {
	Template []byte
	Values   map[string]any
	Secrets  map[string]string
	Files    []contract.DryRunFile
}

// DryRunResult is what a dry run did; when it Failed, Message says why.
type DryRunResult struct {
	State   workflows.ScaffoldState
	Files   []contract.DryRunFile
	Failed  bool
	Message string
}

// DryRunAvailable reports whether this server runs dry runs.
func (s *Service) DryRunAvailable() bool { return s.d.DryRun != nil }

// DryRun runs a template in-process for who: nothing is stored and steps
// with side effects outside the workspace are skipped. req.Files are handed
// to the run and not kept.
func (s *Service) DryRun(ctx context.Context, who auth.Identity, req DryRunRequest) (*DryRunResult, error) {
	if s.d.DryRun == nil {
		return nil, errs.NotFound("dry runs are not available on this server")
	}
	t, err := templates.Parse("template", req.Template)
	if err != nil {
		return nil, errs.Invalid("template: %v", err)
	}
	if err := secretbox.Check(req.Secrets); err != nil {
		return nil, errs.Invalid("%v", err)
	}
	ref := "template:" + t.Metadata.Namespace + "/" + t.Metadata.Name
	// Decided on the uploaded template itself (its tags and owner), not on
	// a catalog template that happens to share its name.
	if err := s.authz.Template(ctx, who, ActionTemplateExecute, TemplateInfo{Ref: ref, Owner: t.Spec.Owner, Tags: t.Metadata.Tags, Uploaded: true}); err != nil {
		return nil, denial(err)
	}
	return s.dryRun(ctx, who, t, ref, "", req)
}

// DryRunTemplate dry-runs the catalog's template ref for who with values:
// what the agents' template_dry_run does, with secrets kept out of the
// plan as a task's are. who must be allowed to run it.
func (s *Service) DryRunTemplate(ctx context.Context, who auth.Identity, ref string, values map[string]any, secrets map[string]string) (*DryRunResult, error) {
	if s.d.DryRun == nil {
		return nil, errs.NotFound("dry runs are not available on this server")
	}
	if err := secretbox.Check(secrets); err != nil {
		return nil, errs.Invalid("%v", err)
	}
	t, r, err := s.template(ctx, who, ActionTemplateExecute, ref)
	if err != nil {
		return nil, err
	}
	// Relative urls (./skeleton) resolve against where the catalog read it.
	return s.dryRun(ctx, who, t, r.String(), templateBase(t), DryRunRequest{Values: values, Secrets: secrets})
}

// dryRun compiles t (ref, relative urls resolving against base) with
// req's values and runs it without side effects; who may run t.
func (s *Service) dryRun(ctx context.Context, who auth.Identity, t *templates.Template, ref, base string, req DryRunRequest) (*DryRunResult, error) {
	plan, err := templates.Compile(t, req.Values, s.d.Actions, templates.CompileOptions{UserRef: who.Ref, BaseURL: base})
	if err != nil {
		return nil, errs.Invalid("%v", err)
	}
	// An agent's dry run is decided as its run will be (context.channel).
	plan.Template.Ref, plan.Channel = ref, who.Channel
	if err := s.mayRunActions(ctx, who, plan); err != nil {
		return nil, err
	}
	files := req.Files
	if files == nil {
		files = []contract.DryRunFile{}
	}
	res, err := s.d.DryRun(ctx, *plan, req.Secrets, files, permission.Subject{Ref: who.Ref, Service: who.Service, Scopes: who.Scopes, Ent: who.Ent})
	if errors.Is(err, errs.ErrUnavailable) {
		return nil, err
	}
	if err != nil {
		return nil, errs.Invalid("dry run: %v", err)
	}
	out := &DryRunResult{State: res.State, Files: res.Files}
	if res.Err != nil {
		out.Failed, out.Message = true, rootError(res.Err)
	}
	return out, nil
}

// rootError is an error's message without the SDK's wrapping.
func rootError(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
