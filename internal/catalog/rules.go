package catalog

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Source is where an entity was read from.
type Source struct {
	Type   string // file, url, git
	Target string
	// Static locations come from rigger.yaml and are trusted more.
	Static bool
}

// LocationSource is another name for Source.
type LocationSource = Source

// Rule allows kinds from locations: one entry of Backstage's
// catalog.rules, or of a catalog.locations[].rules list.
type Rule struct {
	// Allow lists kinds, compared case-insensitively.
	Allow []string
	// AllowTypes lists kinds limited to one spec.type ({kind: Resource,
	// spec.type: database} in Backstage's config); both compared
	// case-insensitively.
	AllowTypes []KindType
	// Locations limit the rule. nil means every location; an empty,
	// non-nil list means none, as in Backstage.
	Locations []RuleLocation
}

// KindType is a kind, optionally limited to one spec.type.
type KindType struct {
	Kind, SpecType string
}

// RuleLocation matches a location: its type exactly (empty: any type), and its target
// exactly (Target, Backstage's "exact") or by glob (Pattern, matched as
// Backstage's minimatch with nocase and dot: '*' and '?' stay within one
// '/'-separated segment, a "**" segment spans any number of segments,
// [...] classes work, case is ignored).
type RuleLocation struct {
	Type, Target, Pattern string
}

// Rules decide which kinds a location may define.
type Rules struct {
	// Global rules apply to every location.
	Global []Rule
	// StaticOnly kinds are allowed from static locations only (unless a
	// rule allows them explicitly).
	StaticOnly []string
}

// DefaultRules allows Component, API, Resource, System, Domain and Location
// from any location, and User, Group and Template only from static
// locations (rigger.yaml): people, teams and templates decide who may do
// what. (Backstage's own default allows Component, API and Location only.)
func DefaultRules() Rules {
	return Rules{
		Global:     []Rule{{Allow: []string{"Component", "API", "Resource", "System", "Domain", "Location"}}},
		StaticOnly: []string{"User", "Group", "Template"},
	}
}

// Validate reports rules Backstage's config loader would refuse.
func (r Rules) Validate() error {
	var problems []error
	for i, rule := range r.Global {
		if err := rule.validate(); err != nil {
			problems = append(problems, fmt.Errorf("catalog rule %d: %w", i, err))
		}
	}
	return errors.Join(problems...)
}

func (rule Rule) validate() error {
	if len(rule.Allow) == 0 && len(rule.AllowTypes) == 0 {
		return fmt.Errorf("allows no kind")
	}
	for _, k := range rule.AllowTypes {
		if k.Kind == "" {
			return fmt.Errorf("an allow entry has no kind")
		}
	}
	for _, l := range rule.Locations {
		if l.Target != "" && l.Pattern != "" {
			return fmt.Errorf("a location cannot have both target and pattern")
		}
		if l.Pattern != "" {
			if _, err := globMatch(l.Pattern, ""); err != nil {
				return fmt.Errorf("pattern %q: %w", l.Pattern, err)
			}
		}
	}
	return nil
}

// Allowed reports whether e may come from src, or why not. extra are the
// location's own rules (a static location in config may carry them).
func (r Rules) Allowed(e Entity, src Source, extra []Rule) error {
	for _, rules := range [2][]Rule{r.Global, extra} {
		for _, rule := range rules {
			if rule.allows(e, src) {
				return nil
			}
		}
	}
	staticOnly := false
	for _, k := range r.StaticOnly {
		if strings.EqualFold(k, e.Kind()) {
			staticOnly = true
		}
	}
	switch {
	case staticOnly && src.Static:
		return nil
	case staticOnly:
		return fmt.Errorf("kind %s is not allowed from registered locations; only locations in rigger.yaml (catalog.locations) may define it", e.Kind())
	}
	return fmt.Errorf("kind %s is not allowed from %s location %s by catalog.rules", e.Kind(), src.Type, src.Target)
}

func (rule Rule) allows(e Entity, src Source) bool {
	return rule.allowsKind(e) && rule.allowsLocation(src)
}

func (rule Rule) allowsKind(e Entity) bool {
	kind := e.Kind()
	for _, k := range rule.Allow {
		if strings.EqualFold(k, kind) {
			return true
		}
	}
	for _, k := range rule.AllowTypes {
		if !strings.EqualFold(k.Kind, kind) {
			continue
		}
		if k.SpecType == "" {
			return true
		}
		if t, ok := e.Spec()["type"].(string); ok && strings.EqualFold(t, k.SpecType) {
			return true
		}
	}
	return false
}

func (rule Rule) allowsLocation(src Source) bool {
	if rule.Locations == nil {
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
			if ok, err := globMatch(l.Pattern, src.Target); err != nil || !ok {
				continue
			}
		}
		return true
	}
	return false
}

// globMatch matches target against pattern segment by segment ('/'
// separated), ignoring case; a "**" segment matches any number of
// segments. Within a segment, path.Match's syntax applies.
func globMatch(pattern, target string) (bool, error) {
	ps := strings.Split(strings.ToLower(pattern), "/")
	ts := strings.Split(strings.ToLower(target), "/")
	for _, p := range ps {
		if p != "**" {
			if _, err := path.Match(p, ""); err != nil {
				return false, err
			}
		}
	}
	// match[i][j]: ps[i:] matches ts[j:]; filled from the end, O(len(ps)*len(ts)).
	next := make([]bool, len(ts)+1)
	cur := make([]bool, len(ts)+1)
	next[len(ts)] = true
	for i := len(ps) - 1; i >= 0; i-- {
		for j := len(ts); j >= 0; j-- {
			switch {
			case ps[i] == "**":
				cur[j] = next[j] || (j < len(ts) && cur[j+1])
			case j == len(ts):
				cur[j] = false
			default:
				ok, _ := path.Match(ps[i], ts[j])
				cur[j] = ok && next[j+1]
			}
		}
		next, cur = cur, next
	}
	return next[0], nil
}
