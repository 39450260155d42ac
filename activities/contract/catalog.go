package contract

import "encoding/json"

// CatalogRefreshLocation reads one location, validates its entities and
// replaces what the store holds for it, in one batch.
const CatalogRefreshLocation = "rigger.catalog.refreshLocation"

// CatalogRefreshInput names the location to refresh.
type CatalogRefreshInput struct {
	LocationID string `json:"locationId"`
}

// CatalogRefreshResult summarises a refresh (it is recorded in history, so it
// holds counts and messages, never entity bodies).
type CatalogRefreshResult struct {
	Files     int      `json:"files"`
	Entities  int      `json:"entities"`
	Inserted  int      `json:"inserted"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Removed   int      `json:"removed"`
	Orphaned  int      `json:"orphaned"`
	Errors    []string `json:"errors,omitempty"`
}

// CatalogAnalyzeLocation reads a location as if it were registered and
// returns its entities without storing anything (POST /locations?dryRun).
const CatalogAnalyzeLocation = "rigger.catalog.analyzeLocation"

// CatalogAnalyzeInput names the location to read.
type CatalogAnalyzeInput struct {
	Type   string `json:"type"`
	Target string `json:"target"`
}

// CatalogAnalyzeResult holds the entities found (bounded) and every problem.
type CatalogAnalyzeResult struct {
	Entities  []json.RawMessage `json:"entities"`
	Errors    []string          `json:"errors,omitempty"`
	Truncated bool              `json:"truncated,omitempty"`
}
