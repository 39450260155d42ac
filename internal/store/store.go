// Package store is rigger's catalog storage: the interface the catalog
// service uses, the row types it reads and writes, and one SQL core
// (sqlstore.go) that the sqlite and postgres packages drive with their own
// driver, dialect and migrations.
//
// Entities are stored as their JSON body plus a search table of lower-cased
// (key, value) rows — Backstage's model — and a relations table, so filters
// on kind, names, owner, type, lifecycle, tags, annotations and relations are
// index lookups, never full scans. Search and relation rows name their
// entity by an integer id internal to the store; callers only see uids. The write path replaces one location's
// entities in one transaction: a failed batch leaves the previous good state.
//
// The same transaction writes the full-text search index (searchindex.go:
// SQLite FTS5, or PostgreSQL tsvector with pg_trgm), so an entity is
// searchable the moment it is readable; Search (searchquery.go) applies
// the caller's access filter inside its query.
//
// It must not import api, worker, workflows or activities; it knows nothing
// of YAML or validation (internal/catalog does that).
package store

import (
	"context"
	"encoding/json"
	"iter"
	"time"
)

// Entity is one validated entity ready to be written.
type Entity struct {
	UID string
	// Ref is the canonical, lower-cased kind:namespace/name.
	Ref string
	// Body is the entity's JSON without relations (they are stitched on read).
	Body json.RawMessage
	// Hash identifies the content; an unchanged hash skips the write.
	Hash string
	// Search rows: lower-cased key and value, plus the value as written.
	// Rows of keys StoredSearchKey refuses (relations.<type>) are not
	// written: Relations are.
	Search []SearchRow
	// Relations this entity emits (both directions, e.g. A ownedBy T and
	// T ownerOf A), removed when the entity goes.
	Relations []Relation
	// Indexed, if set, are the fields of Body the search index reads, as
	// the writer decoded them (nil: the index reads Body).
	Indexed *IndexedFields
}

// SearchRow is one flattened (key, value) pair of an entity.
type SearchRow struct {
	Key      string
	Value    string
	Original string
}

// Relation is a typed edge between two entity refs. Refs are stored as given
// and compared lower-cased.
type Relation struct {
	Source string `json:"-"`
	Type   string `json:"type"`
	Target string `json:"targetRef"`
}

// StoredEntity is an entity as read back.
type StoredEntity struct {
	UID string
	Ref string
	// ETag is ServedETag of Hash and Relations (Hash alone where the
	// relations are not read: EntityBodiesByRefs); whoever drops some of
	// the relations before serving them sets it again.
	ETag string
	// Hash is the stored body's hash.
	Hash       string
	LocationID string
	Orphan     bool
	Body       json.RawMessage
	// Relations whose source is this entity, sorted by type then target.
	Relations []Relation
	CreatedAt time.Time
	UpdatedAt time.Time
	// Gen is the catalog's write generation the entity was read at, in
	// the same statement (0 where the read does not say: compare it with
	// HiddenSet's).
	Gen int64
}

// Location is a place entities are read from.
type Location struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Target      string    `json:"target"`
	Static      bool      `json:"-"`
	CreatedAt   time.Time `json:"-"`
	LastError   string    `json:"-"`
	LastRefresh time.Time `json:"-"`
}

// OrphanStrategy decides what happens to entities that vanish from their
// location: delete them, or keep them marked orphaned.
type OrphanStrategy string

const (
	OrphanDelete OrphanStrategy = "delete"
	OrphanKeep   OrphanStrategy = "keep"
)

// ReplaceOptions tune ReplaceLocation.
type ReplaceOptions struct {
	Orphans OrphanStrategy
	// Keep lists refs (lower-cased) the location still defines but that
	// failed validation this time: their last good version stays as stored.
	Keep []string
	// KeepAfter, if set, is called once the entities are exhausted (a
	// stream learns what failed only as it goes); its refs join Keep.
	KeepAfter func() []string
}

// ReplaceResult reports what a location refresh changed.
type ReplaceResult struct {
	Inserted, Updated, Unchanged, Removed, Orphaned int
	// Conflicts are refs already owned by another location: kept there,
	// reported here.
	Conflicts []Conflict
	// Timing is where the write's time went (ReplaceLocationStream's).
	Timing ReplaceTiming
}

// ReplaceTiming is where a ReplaceLocationStream's time went, for the
// refresh's log line: a slow refresh says whether it waited on reading
// and parsing or on the database, and on which part.
type ReplaceTiming struct {
	// Wait is how long the writer waited for the stream's next entity
	// (reading and parsing, where they are slower than the writes; the
	// catalog's writer may parse a later file meanwhile).
	Wait time.Duration
	// Write is classifying and writing the rows as they came.
	Write time.Duration
	// Finish is writing what was held back and the search index's rows,
	// and building the secondary indexes a first load builds after its
	// rows.
	Finish time.Duration
	// Analyze is refreshing the planner's statistics after a large batch.
	Analyze time.Duration
	// Commit is the transaction's commit.
	Commit time.Duration
}

// Conflict is an entity ref claimed by two locations.
type Conflict struct {
	Ref           string
	OwnerLocation string
}

// Cond is one filter condition: Key (lower-cased, dotted) equals any of
// Values (lower-cased); no Values means the key exists.
type Cond struct {
	Key    string
	Values []string
}

// Filter is an OR of ANDs; an empty filter matches everything.
type Filter [][]Cond

// Order sorts by a field; ties are broken by uid.
type Order struct {
	Field string
	Desc  bool
}

// Query selects a page of entities.
type Query struct {
	Filter Filter
	Order  []Order
	// FullText matches entities whose values under Fields (default: all)
	// contain Term, case-insensitively.
	FullText       string
	FullTextFields []string
	// Access, when set, limits the query (and TotalItems) to the entities
	// it matches: what the caller may read.
	Access *Expr
	Limit  int
	// Offset skips rows (offset paging); After/Before (keyset) win if set.
	Offset int
	// After continues after this position; Before goes back before it.
	After  *Position
	Before *Position
	// NoTotal leaves Page.TotalItems 0 instead of counting every match
	// (by-query's totalItems=exclude): a picker showing the first page of
	// a broad text needs not pay for a count over the whole catalog.
	NoTotal bool
	// CountOnly asks for Page.TotalItems alone (by-query's limit=0, how
	// clients count): no page is read, and Limit and the cursors are
	// not used.
	CountOnly bool
	// Hidden, when set with Access, is what Access does not admit at one
	// write generation (HiddenSet's answer, whole): the page and the count
	// then leave those entities out instead of testing Access on each
	// match, and are kept only if their own statement read that same
	// generation (else they run again with Access). Under common policies
	// the set is empty and the statements have no access predicate to
	// plan or run (an owner page on PostgreSQL at 100k: ~0.5 ms less
	// server time).
	Hidden *HiddenAt
	// generic is Query's key of the filter when the page and count may
	// run on generic plans (SQL.genericKey), "" when not.
	generic string
}

// genericFor is qu.generic when a statement of qu that leaves out hidden
// (nil: tests Access on each match, unless Access is True) runs on
// generic plans, "" when not: one with an access predicate does not (it
// is planned for the policy's values).
func (qu Query) genericFor(hidden *HiddenAt) string {
	if hidden == nil && !qu.Access.IsTrue() {
		return ""
	}
	return qu.generic
}

// HiddenAt is the keys (entities.ref) of the stored entities an access
// predicate does not admit, read at write generation Gen.
type HiddenAt struct {
	Gen  int64
	Refs []string
}

// Position is a keyset cursor position: the order values and uid of a row.
type Position struct {
	Values []string `json:"v"`
	UID    string   `json:"u"`
}

// Page is one page of a query.
type Page struct {
	Entities   []*StoredEntity
	TotalItems int
	// First and Last are the positions of the first and last entity, for cursors.
	First, Last *Position
	// HasMore says whether rows exist beyond this page in its direction.
	HasMore bool
	// Gen is the write generation a CountOnly query's count read, when it
	// ran under an access predicate (else 0): what a page's entities say
	// in StoredEntity.Gen.
	Gen int64
}

// FacetCount is one value of a facet and how many entities have it.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Store is the catalog's storage.
type Store interface {
	AddLocation(ctx context.Context, l Location) (Location, error)
	GetLocation(ctx context.Context, id string) (Location, error)
	ListLocations(ctx context.Context) ([]Location, error)
	// DeleteLocation removes a location and the entities it owns.
	DeleteLocation(ctx context.Context, id string) error
	// OrphanLocation removes a location but keeps the entities it owned,
	// marked orphaned and owned by no location (orphan strategy keep).
	OrphanLocation(ctx context.Context, id string) error
	LocationOfEntity(ctx context.Context, ref string) (Location, error)
	SetLocationStatus(ctx context.Context, id string, lastError string, at time.Time) error

	// ReplaceLocation makes the location own exactly entities (plus the
	// refs in opts.Keep, left as stored), in one transaction.
	ReplaceLocation(ctx context.Context, locationID string, entities []Entity, opts ReplaceOptions) (ReplaceResult, error)
	// ReplaceLocationStream is ReplaceLocation reading the entities one at a
	// time, so a large location is written as it is parsed and never held
	// whole. An error from the stream aborts the transaction (the previous
	// good state stays) and is returned wrapped.
	ReplaceLocationStream(ctx context.Context, locationID string, entities iter.Seq2[Entity, error], opts ReplaceOptions) (ReplaceResult, error)
	DeleteEntity(ctx context.Context, uid string) error

	EntityByRef(ctx context.Context, ref string) (*StoredEntity, error)
	EntityByUID(ctx context.Context, uid string) (*StoredEntity, error)
	// EntitiesByRefs returns one slot per ref, nil where missing.
	EntitiesByRefs(ctx context.Context, refs []string) ([]*StoredEntity, error)
	// EntityBodiesByRefs is EntitiesByRefs without the relations (one
	// query less, for deciding about entities rather than showing them);
	// their ETag is the stored body's hash, not the served etag.
	EntityBodiesByRefs(ctx context.Context, refs []string) ([]*StoredEntity, error)
	// HiddenRefs says which of refs (keys, compared lower-cased) name a
	// stored entity that access does not admit: a permission check of
	// many entities in one query. Refs of no stored entity are absent.
	HiddenRefs(ctx context.Context, refs []string, access *Expr) (map[string]bool, error)
	// HiddenSet returns the keys of every stored entity access does not
	// admit (whole is false past max) and the write generation they were
	// read at (StoredEntity.Gen).
	HiddenSet(ctx context.Context, access *Expr, max int) (gen int64, refs map[string]bool, whole bool, err error)
	Query(ctx context.Context, q Query) (Page, error)
	Facets(ctx context.Context, f Filter, facets []string) (map[string][]FacetCount, error)
	// FacetsAccess is Facets counting only the entities access matches.
	FacetsAccess(ctx context.Context, f Filter, access *Expr, facets []string) (map[string][]FacetCount, error)
	Ping(ctx context.Context) error
	Close() error

	// Search finds entities and docs pages (see SearchQuery); the index
	// is written with every entity, in its transaction.
	Search(ctx context.Context, q SearchQuery) (SearchPage, error)
	// ReplaceDocsIndex replaces the searchable pages of entityRef's docs
	// (stored entity required) in one transaction.
	ReplaceDocsIndex(ctx context.Context, entityRef string, docs []DocsSearchDoc) error
	// ReindexSearch rebuilds the search index from the stored entities
	// (docs rows are kept and re-indexed), reporting progress.
	ReindexSearch(ctx context.Context, progress func(done, total int)) error

	TaskSecrets
	Waits
	AuditLog
	AuthStore
	Docs
	Settings
}

// Waits routes outside events (webhooks) to the scaffolder runs waiting
// for them (rigger:wait-for).
type Waits interface {
	// PutWait records that task's request waits for key until expires
	// (and drops every expired wait).
	PutWait(ctx context.Context, key, taskID, requestID string, expires time.Time) error
	// DeleteWaits drops every wait of a task's request.
	DeleteWaits(ctx context.Context, taskID, requestID string) error
	// WaitsFor lists the unexpired waits for key, at most limit.
	WaitsFor(ctx context.Context, key string, limit int) ([]Wait, error)
	// FirstDelivery records a webhook delivery id until expires and says
	// whether it is new (false: a replay, already accepted).
	FirstDelivery(ctx context.Context, id string, expires time.Time) (bool, error)
	// ForgetDelivery drops a delivery id (its handling failed: a
	// redelivery must be taken).
	ForgetDelivery(ctx context.Context, id string) error
}

// Wait is one waiting request of a run.
type Wait struct {
	TaskID, RequestID string
	Expires           time.Time
}

// TaskSecrets keeps a scaffolder task's secrets, sealed (encrypted) by the
// caller, until the task no longer needs them or they expire. Workflow
// histories only ever hold references to them.
type TaskSecrets interface {
	// PutTaskSecrets stores (or replaces) a task's sealed secrets and drops
	// every expired entry.
	PutTaskSecrets(ctx context.Context, taskID string, sealed []byte, expires time.Time) error
	// GetTaskSecrets returns them; errs.ErrNotFound once deleted or expired.
	GetTaskSecrets(ctx context.Context, taskID string) ([]byte, error)
	// ExtendTaskSecrets moves a task's expiry to expires if that is later
	// (a run that waits long keeps its secrets); none stored is no error.
	ExtendTaskSecrets(ctx context.Context, taskID string, expires time.Time) error
	DeleteTaskSecrets(ctx context.Context, taskID string) error
}
