package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CheckJSONLimits applies lim's entity size, nesting depth and string
// length to an entity given as JSON text (the API's validate-entity), before
// any Go value of it is built: the same limits a location's files get.
// Depth counts as in Parse: the entity's root object is depth 0.
func CheckJSONLimits(raw []byte, lim Limits) error {
	if lim.EntityBytes > 0 && len(raw) > lim.EntityBytes {
		// Measured compact, as stored: only a compacted copy over the limit fails.
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return fmt.Errorf("entity is not valid JSON: %w", err)
		}
		if buf.Len() > lim.EntityBytes {
			return fmt.Errorf("entity as JSON is %d bytes, more than the limit of %d", buf.Len(), lim.EntityBytes)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	depth := -1
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("entity is not valid JSON: %w", err)
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if depth++; lim.MaxDepth > 0 && depth > lim.MaxDepth {
					return fmt.Errorf("entity nests deeper than the limit of %d", lim.MaxDepth)
				}
			} else {
				depth--
			}
		case string:
			if lim.MaxStringLength > 0 && len(t) > lim.MaxStringLength {
				return fmt.Errorf("entity holds a string or key of %d bytes, more than the limit of %d", len(t), lim.MaxStringLength)
			}
			if strings.IndexByte(t, 0) >= 0 {
				return fmt.Errorf("entity holds a string or key with a NUL character (\\u0000) at offset %d", dec.InputOffset())
			}
		}
	}
}
