package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// Template reads a Template entity from the catalog for who and parses it
// (its parameter schema).
func (s *Service) Template(ctx context.Context, who auth.Identity, ref string) (*templates.Template, error) {
	t, _, err := s.template(ctx, who, ActionTemplateRead, ref)
	return t, err
}

// TemplateVersion names the version of template ref the catalog holds
// now (its uid and body hash), for who, who may read it: a dry run's
// receipt is bound to it. Not the served etag: that follows relations
// other entities (some the caller may not see) add to the template, which
// change nothing a run does (review 34 L1).
func (s *Service) TemplateVersion(ctx context.Context, who auth.Identity, ref string) (string, error) {
	_, r, err := s.template(ctx, who, ActionTemplateRead, ref)
	if err != nil {
		return "", err
	}
	e, err := s.d.Entities.EntityByRef(ctx, r.Key())
	if err != nil {
		return "", err
	}
	return e.UID + "/" + e.Hash, nil
}

// template reads and parses a Template entity and asks the Authorizer
// whether who may do action with it.
func (s *Service) template(ctx context.Context, who auth.Identity, action, ref string) (*templates.Template, catalog.Ref, error) {
	r, err := catalog.ParseRef(ref, "template", catalog.DefaultNamespace)
	if err != nil {
		return nil, catalog.Ref{}, errs.Invalid("templateRef: %v", err)
	}
	if !strings.EqualFold(r.Kind, "template") {
		return nil, r, errs.Invalid("templateRef %q does not name a Template", ref)
	}
	e, err := s.d.Entities.EntityByRef(ctx, r.Key())
	if err != nil {
		return nil, r, err
	}
	t, err := templates.Parse(r.String(), e.Body)
	if err != nil {
		return nil, r, errs.Invalid("template %s: %v", r, err)
	}
	if err := s.mayUseTemplateEntity(ctx, who, action, r.String(), t, e); err != nil {
		return nil, r, err
	}
	return t, r, nil
}

// mayUseTemplateEntity asks the Authorizer, with the template's stored
// entity (it need not read it again); a template the caller may not read
// is not found, one it may not run is forbidden.
func (s *Service) mayUseTemplateEntity(ctx context.Context, who auth.Identity, action, ref string, t *templates.Template, e *store.StoredEntity) error {
	err := s.authz.Template(ctx, who, action, TemplateInfo{Ref: ref, Owner: t.Spec.Owner, Tags: t.Metadata.Tags, Entity: e})
	switch {
	case err == nil, undecided(err):
		return err
	case action == ActionTemplateRead:
		return errs.NotFound("no template %s", ref)
	}
	return denial(err)
}

// CreateRequest is a task to start: a catalog template, its parameter
// values and the secrets it may use.
type CreateRequest struct {
	TemplateRef string
	Values      map[string]any
	Secrets     map[string]string
	// Channel is who.Channel ("mcp" for an agent's run): it goes into the
	// plan, the task and the RiggerChannel search attribute.
	Channel string
	// Gate, when set, stops the run for a person's approval before its
	// first step with outside effects (see GateStepID).
	Gate *Gate
}

// Gate is the approval an agent's run waits for before its first step
// with outside effects: a rigger:approval step the service inserts, so the
// task's approval, the REST approve and reject routes and the UI work as
// for any approval. The creator may decide it (a person reviewing what
// their agent asked for), through the REST API or the UI.
type Gate struct {
	Message string
	Timeout string
}

// GateStepID is the id of the step Gate inserts.
const GateStepID = "rigger-agent-approval"

// withGate returns t's steps with the gate before the first step whose
// action has outside effects (unchanged when none has).
func withGate(steps []templates.Step, g *Gate) []templates.Step {
	for i, st := range steps {
		if !contract.HasOutsideEffects(st.Action) {
			continue
		}
		in := map[string]any{"message": g.Message, "allowSelfApproval": true}
		if g.Timeout != "" {
			in["timeout"] = g.Timeout
		}
		gate := templates.Step{ID: GateStepID, Name: "Approve the agent's run", Action: contract.ActionApproval, Input: in}
		return slices.Insert(slices.Clone(steps), i, gate)
	}
	return steps
}

// Create starts a task for who and returns its id and template ref. The
// secrets are sealed in the keeper (only their names enter the workflow);
// the run is signed for the workers.
func (s *Service) Create(ctx context.Context, who auth.Identity, req CreateRequest) (id, templateRef string, err error) {
	id = uuid.NewString()
	templateRef, err = s.create(ctx, who, req, id, "")
	if err != nil {
		return "", "", err
	}
	return id, templateRef, nil
}

// create starts task id; fp, when set, is the request's fingerprint for
// CreateOnce: it goes in the workflow's memo and the id is never reused.
func (s *Service) create(ctx context.Context, who auth.Identity, req CreateRequest, id, fp string) (templateRef string, err error) {
	if s.d.Signer == nil {
		return "", ErrNoSigningKey
	}
	t, ref, err := s.template(ctx, who, ActionTemplateExecute, req.TemplateRef)
	if err != nil {
		return "", err
	}
	user := who.Ref
	userEntity, err := s.userEntity(ctx, user)
	if err != nil {
		return "", err
	}
	if req.Gate != nil {
		t.Spec.Steps = withGate(t.Spec.Steps, req.Gate)
	}
	plan, err := templates.Compile(t, req.Values, s.d.Actions, templates.CompileOptions{UserRef: user, UserEntity: userEntity, BaseURL: templateBase(t)})
	if err != nil {
		return "", errs.Invalid("%v", err)
	}
	plan.Template.Ref, plan.Channel = ref.String(), req.Channel
	if err := s.mayRunActions(ctx, who, plan); err != nil {
		return "", err
	}
	secrets, err := s.grantUserCredentials(ctx, who, id, t, req.Secrets)
	if err != nil {
		return "", err
	}
	names, err := s.keepSecrets(ctx, id, secrets)
	if err != nil {
		return "", err
	}
	in := workflows.ScaffoldInput{TaskID: id, Plan: *plan, Secrets: names, Recall: templates.Recall(t, plan.Parameters)}
	if len(names) > 0 {
		in.SecretNonce = secretbox.NewNonce()
	}
	if err := s.sign(&in, runsign.Claims{UserRef: user, Service: who.Service, Scopes: who.Scopes, Ent: who.Ent, Attempt: 1}); err != nil {
		return "", err
	}
	opts := client.StartWorkflowOptions{ID: id}
	if fp != "" {
		opts.WorkflowIDReusePolicy = keyedStart
		opts.Memo = map[string]any{memoRequest: fp}
	}
	if err := s.start(ctx, opts, in, user); err != nil {
		return "", err
	}
	return ref.String(), nil
}

// mayRunActions asks the Authorizer about every action the plan's steps
// use, before anything starts.
func (s *Service) mayRunActions(ctx context.Context, who auth.Identity, plan *templates.Plan) error {
	seen := map[string]bool{}
	for _, st := range plan.Steps {
		if seen[st.Action] {
			continue
		}
		seen[st.Action] = true
		if err := s.authz.Action(ctx, who, st.Action); err != nil {
			return denial(err)
		}
	}
	return nil
}

// sign signs in for the workers: c names the user, their permissions and
// the attempt; the task, template, base and input hash come from in.
func (s *Service) sign(in *workflows.ScaffoldInput, c runsign.Claims) error {
	c.TaskID, c.TemplateRef, c.BaseURL, c.DryRun = in.TaskID, in.Plan.Template.Ref, in.Plan.Template.BaseURL, in.DryRun
	c.Channel = in.Plan.Channel
	in.Run = nil
	c.InputHash = in.InputHash()
	claims, sig, err := s.d.Signer.Sign(c)
	if err != nil {
		return err
	}
	in.Run = &contract.RunGrant{Claims: claims, Signature: sig}
	return nil
}

// userEntity is the caller's catalog entity (user.entity in expressions),
// or nil when the catalog has none.
func (s *Service) userEntity(ctx context.Context, ref string) (map[string]any, error) {
	if ref == "" {
		return nil, nil
	}
	e, err := s.d.Entities.EntityByRef(ctx, ref)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.d.RenderEntity(e)
}

// keepSecrets stores a task's secrets before it starts and returns their
// names (the only part the workflow sees).
func (s *Service) keepSecrets(ctx context.Context, id string, secrets map[string]string) ([]string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	if s.d.Secrets == nil {
		return nil, errs.Invalid("this server cannot accept secrets: set scaffolder.secretKey")
	}
	if err := s.d.Secrets.Put(ctx, id, secrets); err != nil {
		if strings.HasPrefix(err.Error(), "secrets") {
			return nil, errs.Invalid("%v", err)
		}
		s.d.Logger.Error("store task secrets", "task", id, "error", err)
		return nil, fmt.Errorf("store secrets: %w", errs.ErrUnavailable)
	}
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

// start starts (or, for a retry, starts again) a task's workflow with its
// search attributes; eager start hands the first workflow task to a worker
// in this process when there is one.
func (s *Service) start(ctx context.Context, opts client.StartWorkflowOptions, in workflows.ScaffoldInput, user string) error {
	tplKey, userKey, _ := searchattr.Keys()
	opts.TaskQueue = contract.QueueDefault
	attrs := []temporal.SearchAttributeUpdate{tplKey.ValueSet(in.Plan.Template.Ref), userKey.ValueSet(user)}
	if in.Plan.Channel != "" {
		// Only on agents' runs: a cluster that has not registered
		// RiggerChannel still starts every other run.
		attrs = append(attrs, searchattr.ChannelKey().ValueSet(in.Plan.Channel))
	}
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(attrs...)
	opts.EnableEagerStart = true
	if _, err := s.d.Temporal.ExecuteWorkflow(ctx, opts, workflows.ScaffoldName, in); err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return errs.Conflict("task %s is already running", in.TaskID)
		}
		s.d.Logger.Error("start scaffolder task", "error", err)
		return fmt.Errorf("start task: %w", errs.ErrUnavailable)
	}
	return nil
}

// toChange loads task id for a change: who must be allowed to read it and
// to do action, and it must be in status want (the error says why
// otherwise).
func (s *Service) toChange(ctx context.Context, who auth.Identity, id, action, want, why string) (*Task, error) {
	t, err := s.Get(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayChange(ctx, who, action, t); err != nil {
		return nil, err
	}
	if t.Status != want || t.State == nil {
		return nil, errs.Conflict("task %s is %s; %s", t.ID, t.Status, why)
	}
	return t, nil
}

// Cancel asks a running task to stop.
func (s *Service) Cancel(ctx context.Context, who auth.Identity, id string) error {
	t, err := s.toChange(ctx, who, id, ActionTaskCancel, StatusProcessing, "only a running task can be cancelled")
	if err != nil {
		return err
	}
	err = s.d.Temporal.SignalWorkflow(ctx, t.ID, "", workflows.ScaffoldCancelSignal, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return errs.NotFound("no running task with id %q", t.ID)
	}
	if err != nil {
		return fmt.Errorf("cancel task: %w", errs.ErrUnavailable)
	}
	return nil
}

// maxComment bounds a decision's comment.
const maxComment = 2000

// Decide approves (or rejects) the rigger:approval request task id waits
// on, as who: requestID must name that very request (what who was shown),
// the policy must allow who ActionTaskApprove on the task, who must be a
// person (not a service token), and the task's creator decides only when
// the step allows self-approval. The decision goes to the run signed, so
// only one made here counts. It returns the step decided on.
func (s *Service) Decide(ctx context.Context, who auth.Identity, id, requestID string, approve bool, comment string) (string, error) {
	if s.d.Signer == nil {
		return "", ErrNoSigningKey
	}
	if who.Service {
		return "", errs.Forbidden("approvals are decisions of people: %s is a service token, which cannot approve or reject", who.Ref)
	}
	if len(comment) > maxComment {
		return "", errs.Invalid("the comment is %d bytes; at most %d are accepted", len(comment), maxComment)
	}
	t, err := s.toChange(ctx, who, id, ActionTaskApprove, StatusProcessing, "only a running task can be approved or rejected")
	if err != nil {
		return "", err
	}
	step := WaitingApproval(t)
	if step == nil {
		return "", errs.Conflict("task %s is not waiting for an approval", t.ID)
	}
	if err := selfApproval(who, t, step); err != nil {
		return "", err
	}
	if step.ID == GateStepID && who.Channel == auth.ChannelMCP {
		// Decided here, on the state the signal names, not only in the
		// MCP layer: an agent never lets its own kind's run through.
		return "", errs.Forbidden("task %s waits for a person to approve what an agent started; that is decided in the web UI or the REST API, never through MCP", t.ID)
	}
	switch {
	case requestID == "":
		return "", errs.Invalid("send the requestId of the approval you decide on (the task's approval.requestId): task %s waits for %s", t.ID, step.Approval.RequestID)
	case requestID != step.Approval.RequestID:
		return "", errs.Conflict("task %s no longer waits for approval %s: it waits for %s now (reload it to see what is asked)", t.ID, requestID, step.Approval.RequestID)
	}
	d := contract.Decision{TaskID: t.ID, StepID: step.ID, RequestID: requestID, Attempt: t.State.Attempt, Approved: approve, By: who.Ref, Comment: comment, At: time.Now().UTC()}
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	signal := contract.SignedDecision{Decision: b, Signature: s.d.Signer.SignPurpose(contract.DecisionPurpose, b)}
	err = s.d.Temporal.SignalWorkflow(ctx, t.ID, "", workflows.ScaffoldApprovalSignal, signal)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return "", errs.NotFound("no running task with id %q", t.ID)
	}
	if err != nil {
		return "", fmt.Errorf("decide on task %s: %w", t.ID, errs.ErrUnavailable)
	}
	return step.ID, nil
}

// MayDecide says whether who may approve or reject the approval step t
// waits on now (the task page's buttons).
func (s *Service) MayDecide(ctx context.Context, who auth.Identity, t *Task) bool {
	step := WaitingApproval(t)
	return step != nil && t.Status == StatusProcessing && !who.Service && selfApproval(who, t, step) == nil &&
		s.mayChange(ctx, who, ActionTaskApprove, t) == nil
}

// WaitingApproval is the rigger:approval step t waits on, or nil.
func WaitingApproval(t *Task) *workflows.StepState {
	if t == nil || t.State == nil {
		return nil
	}
	for i := range t.State.Steps {
		st := &t.State.Steps[i]
		if st.Status == workflows.StepProcessing && st.Approval != nil && st.Approval.Decision == "" {
			return st
		}
	}
	return nil
}

// selfApproval refuses the task's own creator unless the step allows it.
func selfApproval(who auth.Identity, t *Task, step *workflows.StepState) error {
	if step.Approval.AllowSelf || who.Ref == "" || !strings.EqualFold(who.Ref, t.User) {
		return nil
	}
	return errs.Forbidden("%s started task %s, and its step %s needs someone else's approval (the step does not set allowSelfApproval)", who.Ref, t.ID, step.ID)
}

// Retry starts a failed task again under the same id, from the step that
// failed: the steps before it keep their outputs and do not run again.
func (s *Service) Retry(ctx context.Context, who auth.Identity, id string) error {
	t, err := s.toChange(ctx, who, id, ActionTaskRetry, StatusFailed, "only a failed task can be retried")
	if err != nil {
		return err
	}
	if s.d.Signer == nil {
		return ErrNoSigningKey
	}
	in, err := s.input(ctx, t)
	if err != nil {
		return err
	}
	// Only a run this server signed is run again, for the same user with
	// the same permissions: retrying a forged run must not sign it.
	prev, err := s.signedClaims(in)
	if err != nil {
		return errs.Invalid("task %s cannot be retried: %v", t.ID, err)
	}
	// The task's owner is the one its signed input names; the state came
	// from whatever worker ran the run and may say anything.
	t.User = prev.UserRef
	if err := s.mayChange(ctx, who, ActionTaskRetry, t); err != nil {
		return err
	}
	if err := s.mayRetryWithUserCredentials(ctx, who, t.ID, prev.UserRef); err != nil {
		return err
	}
	// An action switched off since the task was created (an emergency
	// disable, applied by a reload) does not run again through a retry.
	for _, step := range in.Plan.Steps {
		if s.d.Actions != nil && s.d.Actions.Disabled(step.Action) {
			return errs.Invalid("task %s cannot be retried: its step %s uses %s, which scaffolder.disabledActions turned off", t.ID, step.ID, step.Action)
		}
	}
	// So may its outputs: only outcomes a worker marked are resumed.
	in.Resume = s.verifiedResume(in, t.State, prev.Attempt)
	prev.Attempt++
	if err := s.sign(&in, runsign.Claims{UserRef: prev.UserRef, Service: prev.Service, Scopes: prev.Scopes, Ent: retryEnt(who, prev.UserRef), Attempt: prev.Attempt}); err != nil {
		return err
	}
	// A task created with an Idempotency-Key keeps its request's
	// fingerprint, so the key still finds it after the retry.
	fp, err := s.requestFingerprint(ctx, t.ID)
	if err != nil {
		return err
	}
	opts := client.StartWorkflowOptions{ID: t.ID, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY}
	if fp != "" {
		opts.Memo = map[string]any{memoRequest: fp}
	}
	return s.start(ctx, opts, in, prev.UserRef)
}

// verifiedResume is the part of a failed run's state a retry may resume:
// the steps of the signed plan, in order, up to the first whose outcome
// (completed with its output, or skipped) carries no valid worker mark; a
// debug:wait step (a timer of the workflow's own, with no output) needs
// none. What follows is run again; the log is kept for reading only.
func (s *Service) verifiedResume(in workflows.ScaffoldInput, st *workflows.ScaffoldState, attempt int) *workflows.ScaffoldState {
	out := &workflows.ScaffoldState{Status: "failed", Attempt: attempt, TaskID: in.TaskID,
		TemplateRef: in.Plan.Template.Ref, UserRef: in.Plan.UserRef, Outputs: map[string]map[string]any{}}
	if st == nil {
		return out
	}
	out.CreatedAt, out.Log = st.CreatedAt, st.Log
	m := s.d.Marker
	for i, step := range in.Plan.Steps {
		if i >= len(st.Steps) || st.Steps[i].ID != step.ID {
			break
		}
		prev := st.Steps[i]
		output := st.Outputs[step.ID]
		switch {
		case prev.Status == workflows.StepCompleted && step.Action == contract.ActionWait && len(output) == 0:
		case prev.Status != workflows.StepCompleted && prev.Status != workflows.StepSkipped:
			return out
		case m == nil:
			return out
		case prev.Status == workflows.StepSkipped && len(output) == 0 &&
			m.CheckStep(in.TaskID, step.ID, workflows.StepSkipped, nil, st.Marks[step.ID]) == nil:
		case prev.Status == workflows.StepCompleted &&
			m.CheckStep(in.TaskID, step.ID, workflows.StepCompleted, output, st.Marks[step.ID]) == nil:
		default:
			s.d.Logger.Warn("a failed run's step outcome carries no valid worker mark: the retry runs it again", "task", in.TaskID, "step", step.ID)
			return out
		}
		out.Steps = append(out.Steps, prev)
		if prev.Status == workflows.StepCompleted {
			out.Outputs[step.ID] = output
		}
		if mk := st.Marks[step.ID]; mk != "" {
			if out.Marks == nil {
				out.Marks = map[string]string{}
			}
			out.Marks[step.ID] = mk
		}
	}
	return out
}

// signedClaims checks that in carries this server's signature over it and
// returns what it signed.
func (s *Service) signedClaims(in workflows.ScaffoldInput) (runsign.Claims, error) {
	if in.Run == nil {
		return runsign.Claims{}, runsign.ErrUnsigned
	}
	c, err := runsign.NewVerifier(s.d.Signer.PublicKey()).Verify(in.Run.Claims, in.Run.Signature)
	if err != nil {
		return runsign.Claims{}, err
	}
	if c.TaskID != in.TaskID || c.InputHash != in.InputHash() {
		return runsign.Claims{}, errors.New("run signature does not match its plan")
	}
	return c, nil
}

// input reads the input a task's run was started with (the first event of
// its history).
func (s *Service) input(ctx context.Context, t *Task) (workflows.ScaffoldInput, error) {
	in, _, err := s.inputAt(ctx, t)
	return in, err
}

// inputAt is input and when the run started.
func (s *Service) inputAt(ctx context.Context, t *Task) (workflows.ScaffoldInput, time.Time, error) {
	var in workflows.ScaffoldInput
	it := s.d.Temporal.GetWorkflowHistory(ctx, t.ID, t.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, time.Time{}, fmt.Errorf("task %s has no history", t.ID)
	}
	ev, err := it.Next()
	if err != nil {
		return in, time.Time{}, fmt.Errorf("read task history: %w", err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return in, time.Time{}, fmt.Errorf("task %s: first event is not its start", t.ID)
	}
	if err := s.converter().FromPayload(attrs.GetInput().GetPayloads()[0], &in); err != nil {
		return in, time.Time{}, fmt.Errorf("task %s: read its input: %w", t.ID, err)
	}
	return in, ev.GetEventTime().AsTime(), nil
}

// retryEnt is the ownership a retried run acts with: what holds now. The
// retrier's own refs when they started the run; else only the user's own
// ref, so that a group membership removed since keeps no grant of the
// credential broker through a retry.
func retryEnt(who auth.Identity, user string) []string {
	if strings.EqualFold(who.Ref, user) {
		return who.Ent
	}
	return []string{user}
}

// UserTokenGranter lets a task use its creator's own provider token
// (auth.UserTokens).
type UserTokenGranter interface {
	Grant(ctx context.Context, taskID, secretsKey, user, provider string, scopes []string) error
	// TaskGrants lists what a task was granted (a retry checks who asks).
	TaskGrants(ctx context.Context, taskID string) ([]store.TaskUserCredential, error)
}

// mayRetryWithUserCredentials: a task granted its creator's own GitHub
// token (requestUserCredentials) acts as that person, so only its creator
// retries it; an admin allowed to retry other tasks would otherwise make
// the creator's token act on the admin's decision.
func (s *Service) mayRetryWithUserCredentials(ctx context.Context, who auth.Identity, taskID, creator string) error {
	if s.d.UserTokens == nil || who.Ref == creator {
		return nil
	}
	grants, err := s.d.UserTokens.TaskGrants(ctx, taskID)
	if err != nil {
		return err
	}
	if len(grants) > 0 {
		return errs.Forbidden("task %s acts with %s's own %s credentials (secretsKey %s): only %s can retry it",
			taskID, creator, grants[0].Provider, grants[0].SecretsKey, creator)
	}
	return nil
}

// grantUserCredentials: for each RepoUrlPicker of the template asking for
// the user's own credentials, the task is granted its creator's GitHub
// token, and its secret secretsKey holds a marker (never the token) that
// the step input `token: ${{ secrets.<key> }}` carries to the action,
// which asks the broker. A user who did not sign in with GitHub gets an
// error naming the secretsKey; there is no fallback to the App's token.
func (s *Service) grantUserCredentials(ctx context.Context, who auth.Identity, id string, t *templates.Template, given map[string]string) (map[string]string, error) {
	reqs := auth.UserCredentialRequests(t.Spec.Parameters)
	if len(reqs) == 0 {
		return given, nil
	}
	if s.d.UserTokens == nil || who.Service || who.Guest {
		return nil, errs.Invalid("the template asks for the user's own GitHub credentials (requestUserCredentials, secretsKey %s): only a user signed in with GitHub, on a server with GitHub sign-in and scaffolder.secretKey, can run it", reqs[0].SecretsKey)
	}
	out := maps.Clone(given)
	if out == nil {
		out = map[string]string{}
	}
	for _, r := range reqs {
		if err := s.d.UserTokens.Grant(ctx, id, r.SecretsKey, who.Ref, "github", r.Scopes); err != nil {
			return nil, err
		}
		out[r.SecretsKey] = credentials.UserCredentialMarker(r.SecretsKey)
	}
	return out, nil
}

// MayRunUnattended asks whether an agent's run of template ref, started
// by who, may skip the approval before its first step with outside
// effects (mcp.approval: policy): Cedar's scaffolder.task.runUnattended
// on the template, with context.channel "mcp". Deny by default.
func (s *Service) MayRunUnattended(ctx context.Context, who auth.Identity, ref string) error {
	_, _, err := s.template(ctx, who, ActionTaskRunUnattended, ref)
	return err
}
