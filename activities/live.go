package activities

import (
	"net/http"
	"sync/atomic"

	"github.com/riggerdev/rigger/internal/catalog"
)

// What a configuration reload may change under running activities: each
// is swapped whole, and an activity reads it once when it starts, so one
// refresh or one fetch uses one consistent set.

// Swapped holds a value that a configuration reload replaces while
// activities run. Structs hold a *Swapped, so a copy (a dry run's Scaffold)
// shares it.
type Swapped[T any] struct{ p atomic.Pointer[T] }

// NewSwapped holds v.
func NewSwapped[T any](v T) *Swapped[T] {
	s := &Swapped[T]{}
	s.Set(v)
	return s
}

// Set makes v what Get returns from now on.
func (s *Swapped[T]) Set(v T) { s.p.Store(&v) }

// Get is the value set last.
func (s *Swapped[T]) Get() T { return *s.p.Load() }

// CatalogAccess is the part of Catalog a reload changes: the kind rules
// (catalog.rules, each static location's rules) and where locations may
// be read from (catalog.reading.allow).
type CatalogAccess struct {
	Rules       catalog.Rules
	StaticRules map[string][]catalog.Rule
	HTTP        *http.Client
	Git         GitSource
}

// access is the access of this moment: Live's, or the fields the Catalog
// was built with.
func (c *Catalog) access() CatalogAccess {
	if c.Live != nil {
		return c.Live.Get()
	}
	return CatalogAccess{Rules: c.Rules, StaticRules: c.StaticRules, HTTP: c.HTTP, Git: c.Git}
}

// ScaffoldFetch is the part of Scaffold a reload changes: where fetch
// actions and clones may go (scaffolder.allowedHosts).
type ScaffoldFetch struct {
	HTTP *http.Client
	Git  GitSource
}

// fetchPolicy is the fetch policy of this moment: Live's, or the fields
// the Scaffold was built with.
func (s *Scaffold) fetchPolicy() ScaffoldFetch {
	if s.Live != nil {
		return s.Live.Get()
	}
	return ScaffoldFetch{HTTP: s.HTTP, Git: s.Git}
}

// sources are the template sources of this moment: Live's, or Sources.
func (t *RunTrust) sources() TemplateSources {
	if t.Live != nil {
		return t.Live.Get()
	}
	return t.Sources
}
