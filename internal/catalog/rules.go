package catalog

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Source is where an entity was read from.
type Source struct {
	Type   string // file, url, git
	Target string
	// Static locations come from rigger.yaml and are trusted more.
	Static bool
}

// Rule allows kinds from locations: Backstage's catalog.rules entry.
type Rule struct {
	Allow []string
	// Locations limit the rule; empty means every location.
	Locations []RuleLocation
}

// RuleLocation matches a location by type and exact target or glob pattern.
type RuleLocation struct {
	Type, Target, Pattern string
}

// Rules decide which kinds a location may define.
type Rules struct {
	// Global rules apply to every location.
	Global []Rule
	// StaticOnly kinds are allowed from static locations only.
	StaticOnly []string
}

// DefaultRules allows Component, API, Resource, System, Domain and Location
// from anywhere; User, Group and Template only from static locations.
func DefaultRules() Rules {
	return Rules{
		Global:     []Rule{{Allow: []string{"Component", "API", "Resource", "System", "Domain", "Location"}}},
		StaticOnly: []string{"User", "Group", "Template"},
	}
}

// Allowed reports whether e may come from src; extra are the location's own
// rules (static locations in config may carry them).
func (r Rules) Allowed(e Entity, src Source, extra []Rule) error {
	kind := strings.ToLower(e.Kind())
	for _, rule := range append(slices.Clone(r.Global), extra...) {
		if rule.allows(kind, src) {
			return nil
		}
	}
	if src.Static {
		for _, k := range r.StaticOnly {
			if strings.EqualFold(k, kind) {
				return nil
			}
		}
	}
	if !src.Static && slices.ContainsFunc(r.StaticOnly, func(k string) bool { return strings.EqualFold(k, kind) }) {
		return fmt.Errorf("kind %s is not allowed from registered locations; only locations in rigger.yaml (catalog.locations) may define it", e.Kind())
	}
	return fmt.Errorf("kind %s is not allowed from %s location %s by catalog.rules", e.Kind(), src.Type, src.Target)
}

func (rule Rule) allows(kind string, src Source) bool {
	if !slices.ContainsFunc(rule.Allow, func(k string) bool { return strings.EqualFold(k, kind) }) {
		return false
	}
	if len(rule.Locations) == 0 {
		return true
	}
	for _, l := range rule.Locations {
		if l.Type != "" && l.Type != src.Type {
			continue
		}
		if l.Target != "" && l.Target != src.Target {
			continue
		}
		if l.Pattern != "" {
			if ok, _ := path.Match(l.Pattern, src.Target); !ok {
				continue
			}
		}
		return true
	}
	return false
}
