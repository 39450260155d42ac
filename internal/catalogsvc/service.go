package catalogsvc

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/search"
	"github.com/riggerdev/rigger/internal/store"
)

// Store is what the service reads and writes of the catalog (store.Store
// has it).
type Store interface {
	Query(ctx context.Context, q store.Query) (store.Page, error)
	EntityByRef(ctx context.Context, ref string) (*store.StoredEntity, error)
	EntityByUID(ctx context.Context, uid string) (*store.StoredEntity, error)
	EntitiesByRefs(ctx context.Context, refs []string) ([]*store.StoredEntity, error)
	HiddenRefs(ctx context.Context, refs []string, access *store.Expr) (map[string]bool, error)
	HiddenSet(ctx context.Context, access *store.Expr, max int) (gen int64, refs map[string]bool, whole bool, err error)
	FacetsAccess(ctx context.Context, f store.Filter, access *store.Expr, facets []string) (map[string][]store.FacetCount, error)
	DeleteEntity(ctx context.Context, uid string) error

	// ListLocations returns a slice the caller owns (the service filters it).
	ListLocations(ctx context.Context) ([]store.Location, error)
	GetLocation(ctx context.Context, id string) (store.Location, error)
	AddLocation(ctx context.Context, l store.Location) (store.Location, error)
	DeleteLocation(ctx context.Context, id string) error
	LocationOfEntity(ctx context.Context, ref string) (store.Location, error)
}

// Deps are what the service needs; the API server builds them from its own.
type Deps struct {
	Logger *slog.Logger
	Store  Store
	// Temporal starts the refresh loops and the dry runs that read a
	// location (the service reads nothing itself).
	Temporal client.Client
	// Policy decides what each caller may read and do (nil: no policy
	// checks, everything is allowed).
	Policy *permission.Policy
	// RefreshInterval is passed to the refresh loops the service starts.
	RefreshInterval time.Duration
	// AllowFileLocations lets callers register file locations (dev only:
	// on a server it would let anyone read files on the host).
	AllowFileLocations bool
	// Limits are catalog.limits (zero: catalog.DefaultLimits); validation
	// applies them.
	Limits catalog.Limits
	// Model is catalog.model: validation applies its kinds and per-type
	// schemas (nil: built-in kinds only).
	Model *catalog.Model
	// Docs reads built documentation sites (nil: no docs routes).
	Docs DocsSites
	// DocsExternal: sites are built outside (docs.builder: external) and
	// published with rigger docs publish; a sync builds nothing.
	DocsExternal bool
	// Search runs searches (nil: the Store, when it is a search.Engine).
	Search search.Engine
}

// Service is the catalog's operations. Safe for concurrent use.
type Service struct {
	d Deps
	// hidden remembers what each access predicate hides (pruneRelations).
	hidden hiddenSets
}

// New builds the service. It does no I/O.
func New(d Deps) *Service {
	if d.Limits == (catalog.Limits{}) {
		d.Limits = catalog.DefaultLimits()
	}
	if e, ok := d.Store.(search.Engine); ok && d.Search == nil {
		d.Search = e
	}
	return &Service{d: d}
}
