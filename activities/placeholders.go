package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// maxPlaceholders bounds substitutions per entity.
const maxPlaceholders = 20

// resolvePlaceholders replaces Backstage placeholders — {$text: ref},
// {$json: ref}, {$yaml: ref} — in e's spec with the referenced content, read
// relative to the file the entity came from and through the same channel
// (file, URL via netguard, or inside the git clone).
func (c *Catalog) resolvePlaceholders(ctx context.Context, r *reading, s source, fileName string, e catalog.Entity) error {
	count := 0
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch t := v.(type) {
		case map[string]any:
			if len(t) == 1 {
				for k, raw := range t {
					ref, isStr := raw.(string)
					if !isStr || (k != "$text" && k != "$json" && k != "$yaml") {
						break
					}
					if count++; count > maxPlaceholders {
						return nil, fmt.Errorf("more than %d placeholders", maxPlaceholders)
					}
					data, err := c.readRelative(ctx, r, s, fileName, ref)
					if err != nil {
						return nil, fmt.Errorf("%s %s: %w", k, ref, err)
					}
					return decodePlaceholder(k, ref, data, c.Limits)
				}
			}
			for k, child := range t {
				nv, err := walk(child)
				if err != nil {
					return nil, err
				}
				t[k] = nv
			}
			return t, nil
		case []any:
			for i, child := range t {
				nv, err := walk(child)
				if err != nil {
					return nil, err
				}
				t[i] = nv
			}
			return t, nil
		default:
			return v, nil
		}
	}
	if spec := e.Spec(); spec != nil {
		if _, err := walk(spec); err != nil {
			return err
		}
	}
	return nil
}

func decodePlaceholder(kind, ref string, data []byte, lim catalog.Limits) (any, error) {
	switch kind {
	case "$json":
		// The limits a $yaml placeholder gets (a string may be as long as
		// an entity), and no NUL (PostgreSQL's text refuses it).
		jl := catalog.Limits{MaxDepth: lim.MaxDepth, MaxStringLength: lim.EntityBytes}
		if err := catalog.CheckJSONLimits(data, jl); err != nil {
			return nil, fmt.Errorf("$json %s: %v", ref, err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("$json %s: %v", ref, err)
		}
		return v, nil
	case "$yaml":
		docs, err := yamlsafe.Documents(data)
		if err != nil || len(docs) != 1 || docs[0].Node == nil {
			return nil, fmt.Errorf("$yaml %s: want exactly one YAML document (%v)", ref, err)
		}
		if probs := yamlsafe.Screen(docs[0].Node, yamlsafe.Limits{MaxDepth: lim.MaxDepth, MaxStringLength: lim.EntityBytes}); len(probs) > 0 {
			return nil, fmt.Errorf("$yaml %s: %v", ref, probs[0])
		}
		return yamlsafe.Value(docs[0].Node)
	default:
		// Text, as Backstage reads it (UTF-8, invalid sequences as U+FFFD);
		// a NUL byte means a binary file.
		if i := bytes.IndexByte(data, 0); i >= 0 {
			return nil, fmt.Errorf("$text %s: byte %d is NUL: not a text file", ref, i)
		}
		return strings.ToValidUTF8(string(data), "\uFFFD"), nil
	}
}

// readRelative reads ref relative to fileName within the source's channel;
// absolute URLs are fetched through netguard only from url sources.
func (c *Catalog) readRelative(ctx context.Context, r *reading, s source, fileName, ref string) ([]byte, error) {
	max := int64(c.Limits.EntityBytes)
	switch s.typ {
	case "file":
		if strings.Contains(ref, "://") {
			return nil, fmt.Errorf("a file location can only reference files")
		}
		return readInFolder(filepath.Dir(fileName), ref, max)
	case "url":
		base, err := url.Parse(fileName)
		if err != nil {
			return nil, err
		}
		rel, err := url.Parse(ref)
		if err != nil {
			return nil, err
		}
		return netguard.Get(ctx, r.access.HTTP, base.ResolveReference(rel).String(), max)
	case "git", "gitfile":
		if r.root == nil {
			return nil, fmt.Errorf("no repository open")
		}
		_, inRepo, _ := strings.Cut(fileName, "#")
		files, err := readRoot(r.root, r.label, path.Join(path.Dir(inRepo), ref), max)
		if err != nil {
			return nil, err
		}
		return files[0].data, nil
	}
	return nil, fmt.Errorf("placeholders are not supported for %s locations", s.typ)
}

// readInFolder reads ref, a path relative to dir, confined to dir (an
// os.Root: no absolute paths, no "..", no symlink leading out), in dev as
// on a server: a placeholder must not read the data dir's secret.key or
// /etc/passwd into the catalog.
func readInFolder(dir, ref string, max int64) ([]byte, error) {
	outside := fmt.Errorf("%q is outside the folder %s (placeholders of file locations read only files in the folder of the file that holds them, and below)", ref, dir)
	if filepath.IsAbs(ref) || ref == "" {
		return nil, outside
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", dir, err)
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(ref))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no file %q in the folder %s", ref, dir)
		}
		// os.Root refuses paths that leave it (.., symlinks) with its own
		// error; whatever the reason, say where reading is allowed.
		return nil, outside
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%q is not a regular file", ref)
	}
	if info.Size() > max {
		return nil, fmt.Errorf("%q is larger than %d bytes", ref, max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%q is larger than %d bytes", ref, max)
	}
	return data, nil
}
