package githubfake

import (
	"net/http"
	"net/http/cgi"
	"strings"
)

// serveGit is git smart HTTP at /git/<owner>/<repo>.git/…, through git
// http-backend. Like GitHub it wants a token (HTTP basic, the token as
// password) that covers the repository: contents:read to fetch,
// contents:write to push.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/git/")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || !strings.HasSuffix(parts[1], ".git") {
		http.NotFound(w, r)
		return
	}
	owner, name, op := parts[0], strings.TrimSuffix(parts[1], ".git"), parts[2]
	push := false
	switch {
	case op == "info/refs" && r.URL.Query().Get("service") == "git-receive-pack", op == "git-receive-pack":
		push = true
	case op == "info/refs" && r.URL.Query().Get("service") == "git-upload-pack", op == "git-upload-pack":
	default:
		http.Error(w, "the fake serves only smart HTTP", http.StatusForbidden)
		return
	}
	if bearer(r) == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(w, "Authentication required", http.StatusUnauthorized)
		return
	}
	level := "read"
	if push {
		level = "write"
	}
	if _, herr := s.authorize(r, owner, name, "contents", level); herr != nil {
		if herr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		}
		http.Error(w, herr.msg, herr.status)
		return
	}
	s.mu.Lock()
	_, ok := s.repos[owner+"/"+name]
	if ok && push && op == "git-receive-pack" {
		s.gitPushes++
		s.pushTokens = append(s.pushTokens, bearer(r))
	}
	hold, holding := s.hold, s.holding
	if ok && push && op == "git-receive-pack" && hold != nil {
		s.hold, s.holding = nil, nil
	}
	s.mu.Unlock()
	if ok && push && op == "git-receive-pack" && hold != nil {
		close(holding)
		select {
		case <-hold:
		case <-r.Context().Done():
			return // the pusher is gone: nothing was received
		}
	}
	if !ok {
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	}
	h := &cgi.Handler{Path: s.backend, Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + s.root}}
	h.ServeHTTP(w, r)
}
