package activities

import (
	"net/http"
	"sync/atomic"

	"github.com/riggerdev/rigger/internal/catalog"
)

// What a configuration reload may change under running activities: each
// is swapped whole, and an activity reads it once when it starts, so one
// refresh or one fetch uses one consistent set.

// CatalogAccess is the part of Catalog a reload changes: the kind rules
// (catalog.rules, each static location's rules) and where locations may
// be read from (catalog.reading.allow).
type CatalogAccess struct {
	Rules       catalog.Rules
	StaticRules map[string][]catalog.Rule
	HTTP        *http.Client
	Git         GitSource
}

// swapped holds what a reload set last, if it set anything.
type swapped[T any] struct{ p atomic.Pointer[T] }

func (s *swapped[T]) set(v T) { s.p.Store(&v) }

// get is the value set last; ok is false before the first set.
func (s *swapped[T]) get() (v T, ok bool) {
	if p := s.p.Load(); p != nil {
		return *p, true
	}
	return v, false
}

// SetAccess makes refreshes that start from now on use a.
func (c *Catalog) SetAccess(a CatalogAccess) { c.live.set(a) }

// access is the access of this moment: the last SetAccess, or the fields
// the Catalog was built with.
func (c *Catalog) access() CatalogAccess {
	if a, ok := c.live.get(); ok {
		return a
	}
	return CatalogAccess{Rules: c.Rules, StaticRules: c.StaticRules, HTTP: c.HTTP, Git: c.Git}
}

// ScaffoldFetch is the part of Scaffold a reload changes: where fetch
// actions and clones may go (scaffolder.allowedHosts) and the hosts a
// run's template base may name.
type ScaffoldFetch struct {
	HTTP      *http.Client
	Git       GitSource
	Templates TemplateSources
}

// SetFetch makes steps that start from now on use f.
func (s *Scaffold) SetFetch(f ScaffoldFetch) { s.live.set(f) }

// fetchPolicy is the fetch policy of this moment: the last SetFetch, or the
// fields the Scaffold was built with.
func (s *Scaffold) fetchPolicy() ScaffoldFetch {
	if f, ok := s.live.get(); ok {
		return f
	}
	f := ScaffoldFetch{HTTP: s.HTTP, Git: s.Git}
	if s.Trust != nil {
		f.Templates = s.Trust.Sources
	}
	return f
}
