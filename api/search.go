package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Search queries: a burst of searchBurst per caller, then one every
// searchInterval (a search box queries as its user types).
const (
	searchBurst    = 60
	searchInterval = 100 * time.Millisecond
	// searchPageLimit is Backstage's default page size.
	searchPageLimit = 25
	// maxSearchQuery bounds the raw query string, before it is parsed.
	maxSearchQuery = 8 << 10
)

// searchRoutes serves GET /api/search/query in Backstage's shape (New
// registers it when the server has a catalog).
func (s *Server) searchRoutes(api *gin.RouterGroup) {
	limits := newRateLimiter(searchBurst, searchInterval)
	api.GET("/search/query", limits.limit("search"), s.searchQuery)
}

// searchFilterKeys maps Backstage's search filters to the entity's keys
// (kind is its own: it is also a facet).
var searchFilterKeys = map[string]string{
	"type":          "spec.type",
	"componentType": "spec.type",
	"lifecycle":     "spec.lifecycle",
	"owner":         "spec.owner",
	"system":        "spec.system",
	"namespace":     "metadata.namespace",
	"name":          "metadata.name",
	"tags":          "metadata.tags",
}

// searchRequest reads Backstage's query parameters: term, types[] (or
// types, repeated or comma-separated), filters[field]=value (also
// filters[field][]=...), pageCursor, pageLimit.
func searchRequest(c *gin.Context) (store.SearchQuery, error) {
	if len(c.Request.URL.RawQuery) > maxSearchQuery {
		return store.SearchQuery{}, errs.Invalid("the search query string has %d bytes; at most %d are accepted", len(c.Request.URL.RawQuery), maxSearchQuery)
	}
	params, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return store.SearchQuery{}, errs.Invalid("malformed query string")
	}
	term := params.Get("term")
	if n := len([]rune(term)); n > store.MaxSearchTermRunes {
		return store.SearchQuery{}, errs.Invalid("the search term has %d characters; at most %d are accepted", n, store.MaxSearchTermRunes)
	}
	q := store.SearchQuery{Term: term, Limit: searchPageLimit}
	for _, v := range append(params["types[]"], params["types"]...) {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(q.Types, t) {
				q.Types = append(q.Types, t)
			}
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field, ok := strings.CutPrefix(k, "filters[")
		if !ok {
			continue
		}
		field, rest, ok := strings.Cut(field, "]")
		if !ok || (rest != "" && !(strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]"))) {
			return store.SearchQuery{}, errs.Invalid("malformed filter parameter %q", clip(k, 100))
		}
		var values []string
		for _, v := range params[k] {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			continue
		}
		if field == "kind" {
			q.Kinds = append(q.Kinds, values...)
			continue
		}
		key, ok := searchFilterKeys[field]
		if !ok {
			return store.SearchQuery{}, errs.Invalid("unknown search filter %q (known: kind, type, componentType, lifecycle, owner, system, namespace, name, tags)", clip(field, 100))
		}
		q.Filters = append(q.Filters, store.Cond{Key: key, Values: values})
	}
	if v := params.Get("pageLimit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxSearchLimit {
			return store.SearchQuery{}, errs.Invalid("pageLimit must be a whole number between 1 and %d", store.MaxSearchLimit)
		}
		q.Limit = n
	}
	if v := params.Get("pageCursor"); v != "" {
		off, err := decodeSearchCursor(v)
		if err != nil {
			return store.SearchQuery{}, err
		}
		q.Offset = off
	}
	return q, nil
}

// Search cursors are opaque: base64url of "o<offset>".
func encodeSearchCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset)))
}

func decodeSearchCursor(v string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err == nil && len(b) > 1 && len(b) < 16 && b[0] == 'o' {
		if n, err := strconv.Atoi(string(b[1:])); err == nil && n >= 0 && n <= store.MaxSearchOffset {
			return n, nil
		}
	}
	return 0, errs.Invalid("malformed pageCursor")
}

// highlightTags are a fresh pair of marker tags per request: a document
// cannot contain them, so no text passes for a highlight.
func highlightTags() (pre, post string) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	tag := "rigger-hl-" + hex.EncodeToString(b[:])
	return "<" + tag + ">", "</" + tag + ">"
}

// searchResult is one result in Backstage's shape.
type searchResult struct {
	Type      string           `json:"type"`
	Document  map[string]any   `json:"document"`
	Highlight *searchHighlight `json:"highlight,omitempty"`
	Rank      int              `json:"rank"`
}

type searchHighlight struct {
	PreTag  string            `json:"preTag"`
	PostTag string            `json:"postTag"`
	Fields  map[string]string `json:"fields"`
}

// searchResponse is Backstage's result set, with facets by type and kind
// besides (counted over what the caller may read).
type searchResponse struct {
	Results            []searchResult `json:"results"`
	NextPageCursor     string         `json:"nextPageCursor,omitempty"`
	PreviousPageCursor string         `json:"previousPageCursor,omitempty"`
	NumberOfResults    int            `json:"numberOfResults"`
	// NumberOfResultsCapped: more documents match than a search counts
	// (store.MaxSearchCount): numberOfResults and facets are lower bounds.
	NumberOfResultsCapped bool         `json:"numberOfResultsCapped,omitempty"`
	Facets                searchFacets `json:"facets"`
}

type searchFacets struct {
	Type []store.FacetCount `json:"type"`
	Kind []store.FacetCount `json:"kind"`
}

func (s *Server) searchQuery(c *gin.Context) {
	q, err := searchRequest(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if strings.TrimSpace(q.Term) != "" {
		q.PreTag, q.PostTag = highlightTags()
	}
	page, err := s.catalog.Search(c.Request.Context(), identity(c), q)
	if err != nil {
		writeError(c, err)
		return
	}
	resp := searchResponse{Results: make([]searchResult, 0, len(page.Results)), NumberOfResults: page.Total,
		NumberOfResultsCapped: page.Capped, Facets: searchFacets{Type: page.TypeFacets, Kind: page.KindFacets}}
	for _, r := range page.Results {
		out := searchResult{Type: r.Type, Document: searchDocument(r), Rank: r.Rank}
		if q.PreTag != "" {
			out.Highlight = &searchHighlight{PreTag: q.PreTag, PostTag: q.PostTag,
				Fields: map[string]string{"title": r.HighlightTitle, "text": r.HighlightText}}
		}
		resp.Results = append(resp.Results, out)
	}
	if page.HasMore {
		resp.NextPageCursor = encodeSearchCursor(q.Offset + q.Limit)
	}
	if q.Offset > 0 {
		resp.PreviousPageCursor = encodeSearchCursor(max(0, q.Offset-q.Limit))
	}
	c.JSON(http.StatusOK, resp)
}

// searchDocument is a result's document, with the fields Backstage's
// catalog and TechDocs collators give theirs.
func searchDocument(r store.SearchResult) map[string]any {
	kind, rest, _ := strings.Cut(r.EntityRef, ":")
	ns, name, _ := strings.Cut(rest, "/")
	typ := r.SpecType
	if typ == "" {
		typ = "other"
	}
	doc := map[string]any{
		"title": r.Title, "text": r.Text,
		"kind": r.Kind, "namespace": r.Namespace, "name": r.Name,
		"componentType": typ, "lifecycle": r.Lifecycle, "owner": r.Owner,
	}
	if r.Type == store.SearchTypeDocs {
		doc["location"] = "/docs/" + url.PathEscape(ns) + "/" + url.PathEscape(kind) + "/" + url.PathEscape(name) + "/" + r.Path
		doc["path"] = r.Path
		doc["entityTitle"] = r.EntityTitle
		return doc
	}
	doc["location"] = "/catalog/" + url.PathEscape(ns) + "/" + url.PathEscape(kind) + "/" + url.PathEscape(name)
	doc["type"] = typ
	return doc
}
