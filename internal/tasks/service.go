package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// Deps are what the service needs; the API server builds them from its own.
type Deps struct {
	Logger *slog.Logger
	// Converter reads payloads from histories (a run's input and result):
	// the client's data converter, with the payload codec when payloads are
	// encrypted (nil: Temporal's default).
	Converter converter.DataConverter
	Temporal  client.Client
	Namespace string
	// Entities reads Template and User entities from the catalog.
	Entities EntityReader
	// RenderEntity turns a stored entity into its JSON form (user.entity in
	// expressions).
	RenderEntity func(*store.StoredEntity) (map[string]any, error)
	Actions      *contract.Registry
	// Secrets stores the secrets given with a task, sealed, outside
	// workflow history; nil refuses tasks with secrets.
	Secrets SecretKeeper
	// UserTokens grant a task its creator's own GitHub token when its
	// template asks for it (requestUserCredentials); nil refuses such
	// templates.
	UserTokens UserTokenGranter
	// DryRun runs a template without side effects; nil disables dry runs.
	DryRun DryRunFunc
	// Signer signs what the server decides about each run; nil refuses to
	// start tasks (scaffolder.runSigningKey).
	Signer *runsign.Signer
	// Marker checks the workers' marks of a failed run's step outcomes (nil:
	// a retry runs every step again).
	Marker *runsign.Marker
	// WorkspaceDir holds task workspaces when this process sees them;
	// WorkspaceTTL is how long they are kept.
	WorkspaceDir string
	WorkspaceTTL time.Duration
	// Authorizer decides what callers may do (nil: DefaultAuthorizer).
	Authorizer Authorizer
	// Waits routes webhook events to the runs waiting for them (nil:
	// webhooks are refused).
	Waits WaitRouter
}

// EntityReader reads one catalog entity by its ref (store.Store has it).
type EntityReader interface {
	EntityByRef(ctx context.Context, ref string) (*store.StoredEntity, error)
}

// SecretKeeper stores a task's secrets (internal/secretbox implements it).
type SecretKeeper interface {
	Put(ctx context.Context, taskID string, secrets map[string]string) error
}

// DryRunFunc runs plan in dry-run mode (worker.DryRunner.DryRun); files are
// the template's own files. An error wrapping errs.ErrUnavailable means it
// is busy.
type DryRunFunc func(ctx context.Context, plan templates.Plan, secrets map[string]string, files []contract.DryRunFile, who permission.Subject) (*workflows.DryRunResult, error)

// Service is the scaffolder's task operations. Safe for concurrent use.
type Service struct {
	d       Deps
	authz   Authorizer
	states  stateCache
	streams streamHub
	owners  ownerCache
	lists   listShare
}

// ownerCache remembers templates' owners briefly: every read of a task
// asks for its template's owner, and a task list or a client polling a
// task would read the template entity each time.
type ownerCache struct {
	mu sync.Mutex
	m  map[string]cachedOwner
}

type cachedOwner struct {
	owner string
	at    time.Time
}

// ownerTTL is how long a template's owner is reused (an owner change in
// the catalog reaches task decisions within it); maxOwners bounds the
// cache (emptied when full).
const (
	ownerTTL  = 30 * time.Second
	maxOwners = 4096
)

// New builds the service. It does no I/O.
func New(d Deps) *Service {
	s := &Service{d: d, authz: d.Authorizer,
		streams: streamHub{watches: map[string]*watch{}, perClient: map[string]int{}, waits: map[string]int{},
			maxPerClient: MaxStreamsPerClient, maxWaits: MaxWaitsPerClient, maxTotal: MaxStreamsTotal}}
	if s.authz == nil {
		s.authz = DefaultAuthorizer{}
	}
	return s
}

// Task is what the service knows of one task.
type Task struct {
	ID, RunID, Status string
	// Created is the task's: its first run's start.
	Created time.Time
	// Ended is when the newest run ended (zero while it runs).
	Ended       time.Time
	runStarted  time.Time // this run's start (listing: the newest run wins)
	event       int64     // the newest history event when read (0 in lists)
	TemplateRef string
	User        string
	// State is the run's state; nil in lists.
	State *workflows.ScaffoldState
	// WorkerUnavailable: no worker answered for the running task, so State
	// is its plan from its start, not its progress.
	WorkerUnavailable bool
}

// Task statuses, Backstage's.
const (
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
)

// converter is Deps.Converter, or Temporal's default.
func (s *Service) converter() converter.DataConverter {
	if s.d.Converter != nil {
		return s.d.Converter
	}
	return converter.GetDefaultDataConverter()
}

// taskInfo is what the Authorizer is told of t.
func (s *Service) taskInfo(ctx context.Context, t *Task) TaskInfo {
	return TaskInfo{ID: t.ID, CreatedBy: t.User, Template: t.TemplateRef, TemplateOwner: s.templateOwner(ctx, t.TemplateRef)}
}

// templateOwner is the owner of the template ref names, as the full ref
// of its ownedBy relation (spec.owner: team-a is group:default/team-a),
// or "" when the catalog no longer holds it (or cannot be read).
func (s *Service) templateOwner(ctx context.Context, ref string) string {
	if ref == "" || s.d.Entities == nil {
		return ""
	}
	now := time.Now()
	s.owners.mu.Lock()
	c, ok := s.owners.m[ref]
	s.owners.mu.Unlock()
	if ok && now.Sub(c.at) < ownerTTL {
		return c.owner
	}
	e, err := s.d.Entities.EntityByRef(ctx, ref)
	owner := ""
	switch {
	case err == nil:
		owner = ownerOf(e)
	case !errors.Is(err, errs.ErrNotFound):
		return "" // not remembered: the next read tries again
	}
	s.owners.mu.Lock()
	if s.owners.m == nil || len(s.owners.m) >= maxOwners {
		s.owners.m = map[string]cachedOwner{}
	}
	s.owners.m[ref] = cachedOwner{owner: owner, at: now}
	s.owners.mu.Unlock()
	return owner
}

// ownerOf is the target of an entity's first ownedBy relation.
func ownerOf(e *store.StoredEntity) string {
	for _, r := range e.Relations {
		if strings.EqualFold(r.Type, "ownedBy") {
			return strings.ToLower(r.Target)
		}
	}
	return ""
}

// errorsIsForbidden reports whether err is already a refusal.
func errorsIsForbidden(err error) bool { return errors.Is(err, errs.ErrForbidden) }

// ErrNoSigningKey: a server that cannot sign runs starts none (workers
// would refuse them).
var ErrNoSigningKey = fmt.Errorf("%w: this server cannot start scaffolder runs: set scaffolder.runSigningKey", errs.ErrUnavailable)

// templateBase is where a template's relative urls resolve: the location
// it was read from (file or http(s)).
func templateBase(t *templates.Template) string {
	return catalog.SourceBase(t.Metadata.Annotations["backstage.io/managed-by-location"])
}
