package templates

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// RenderOutput renders a template's output (Plan.Output) once the steps
// have run, as Backstage does: every expression is rendered with ctx, and
// the entries of output.links and output.text whose `if` is false are
// dropped; the `if` keys themselves are removed. Other output keys are
// rendered as they are.
func (r *Renderer) RenderOutput(output map[string]any, ctx Context) (map[string]any, error) {
	out := make(map[string]any, len(output))
	for _, key := range slices.Sorted(maps.Keys(output)) {
		val := output[key]
		if list, ok := val.([]any); ok && (key == "links" || key == "text") {
			kept, err := r.renderConditionalList(key, list, ctx)
			if err != nil {
				return nil, err
			}
			out[key] = kept
			continue
		}
		rv, err := r.RenderValue(map[string]any{key: val}, ctx)
		if err != nil {
			return nil, err
		}
		if m, ok := rv.(map[string]any); ok {
			if v, ok := m[key]; ok {
				out[key] = v
			}
		}
	}
	return out, nil
}

func (r *Renderer) renderConditionalList(key string, list []any, ctx Context) ([]any, error) {
	kept := []any{}
	for i, item := range list {
		path := fmt.Sprintf("%s[%d]", key, i)
		entry, ok := item.(map[string]any)
		if !ok {
			rv, err := r.RenderValue(item, ctx)
			if err != nil {
				return nil, prefixRenderError(path, err)
			}
			kept = append(kept, rv)
			continue
		}
		if cond, has := entry["if"]; has {
			ok, err := r.EvalCondition(cond, ctx)
			if err != nil {
				return nil, prefixRenderError(path, err)
			}
			if !ok {
				continue
			}
			rest := make(map[string]any, len(entry))
			for k, v := range entry {
				if k != "if" {
					rest[k] = v
				}
			}
			entry = rest
		}
		rv, err := r.RenderValue(entry, ctx)
		if err != nil {
			return nil, prefixRenderError(path, err)
		}
		kept = append(kept, rv)
	}
	return kept, nil
}

// prefixRenderError puts path in front of a RenderError's path.
func prefixRenderError(path string, err error) error {
	var re *RenderError
	if errors.As(err, &re) {
		cp := *re
		cp.Path = joinPath(path, cp.Path)
		return &cp
	}
	return fmt.Errorf("%s: %w", path, err)
}
