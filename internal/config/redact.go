package config

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// Redacted returns the effective configuration as YAML (the rigger.yaml
// format, every key present), each set secret shown as [redacted]. It is what
// `rigger config check` and /api/config/effective show; the output parses
// back with Parse.
//
// Besides the Secret fields, any value that is an absolute URL loses what a
// URL can carry that is a credential: its user information and the values
// of its query (a location target such as
// https://host/catalog.yaml?token=…). The query's keys stay, so a reader
// still sees which parameters are set.
func (c *Config) Redacted() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	redactURLs(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return b.Bytes(), nil
}

// redactURLs rewrites every scalar of n that is an absolute URL with
// user information or a query.
func redactURLs(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		n.Value = redactURL(n.Value)
		return
	}
	for _, c := range n.Content {
		redactURLs(c)
	}
}

// redactURL hides s's user information and query values when s is an
// absolute URL; anything else is returned as it is.
func redactURL(s string) string {
	if !strings.Contains(s, "://") || (!strings.Contains(s, "@") && !strings.Contains(s, "?")) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	if u.User != nil {
		u.User = url.User(RedactedText)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{RedactedText}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
