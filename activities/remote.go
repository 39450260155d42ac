package activities

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/netguard"
)

func isArchive(p string) bool {
	return strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz")
}

// download GETs u through the guarded client (scaffolder.allowedHosts,
// address checks at connect time, checked redirects), reading at most max
// bytes. input.token, when set, is sent as a bearer token and never logged.
func (s *Scaffold) download(ctx context.Context, u *url.URL, input map[string]any, max int64) ([]byte, error) {
	client := s.fetchPolicy().HTTP
	if client == nil {
		return nil, invalid(fmt.Errorf("url %s: this worker fetches no remote URLs (scaffolder.allowedHosts is empty)", u.Redacted()))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, invalid(fmt.Errorf("url %s: %v", u.Redacted(), err))
	}
	if tok, _ := str(input, "token"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		// Described without resolved addresses or the resolver's.
		if errors.Is(err, errs.ErrForbidden) {
			return nil, invalid(fmt.Errorf("url %s: refused: %v", u.Redacted(), netguard.Describe(u, err)))
		}
		return nil, fmt.Errorf("url %s: %v", u.Redacted(), netguard.Describe(u, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("url %s: HTTP %d", u.Redacted(), resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return nil, invalid(err)
		}
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("url %s: %v", u.Redacted(), err)
	}
	if int64(len(data)) > max {
		return nil, invalid(fmt.Errorf("url %s: larger than %d bytes", u.Redacted(), max))
	}
	return data, nil
}

// untar reads a gzipped tar archive into skeleton files. Links, devices
// and any entry whose name is absolute or climbs with .. are refused: an
// archive is data, and a link in it could point anywhere once written. A
// single top-level directory (as GitHub archives have) is stripped.
func untar(data []byte) ([]skeletonFile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a gzip archive: %v", err)
	}
	tr := tar.NewReader(io.LimitReader(zr, maxSkeletonBytes+1))
	var files []skeletonFile
	total := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bad archive: %v", err)
		}
		name := h.Name
		if strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
			return nil, fmt.Errorf("archive entry %q has an absolute path", name)
		}
		clean := path.Clean(name)
		if clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("archive entry %q leaves the archive", name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		case tar.TypeXGlobalHeader:
			continue
		default:
			return nil, fmt.Errorf("archive entry %q is a link or special file; archives may only contain regular files and directories", name)
		}
		if len(files) >= maxSkeletonFiles {
			return nil, fmt.Errorf("archive has more than %d files", maxSkeletonFiles)
		}
		if h.Size > maxSkeletonFile {
			return nil, fmt.Errorf("archive entry %q is larger than %d bytes", name, maxSkeletonFile)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxSkeletonFile+1))
		if err != nil {
			return nil, fmt.Errorf("bad archive: %v", err)
		}
		if total += len(b); total > maxSkeletonBytes {
			return nil, fmt.Errorf("archive is larger than %d bytes", maxSkeletonBytes)
		}
		mode := int64(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, skeletonFile{rel: clean, data: b, mode: fsMode(mode)})
	}
	return stripCommonDir(files), nil
}

// stripCommonDir removes a single directory that holds every file.
func stripCommonDir(files []skeletonFile) []skeletonFile {
	if len(files) == 0 {
		return files
	}
	first, _, ok := strings.Cut(files[0].rel, "/")
	if !ok {
		return files
	}
	for _, f := range files {
		if !strings.HasPrefix(f.rel, first+"/") {
			return files
		}
	}
	for i := range files {
		files[i].rel = strings.TrimPrefix(files[i].rel, first+"/")
	}
	return files
}

func fsMode(m int64) fs.FileMode { return fs.FileMode(m) }
