package githubfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /repos/{owner}/{repo}/installation", s.findInstallation)
	m.HandleFunc("GET /orgs/{owner}/installation", s.findInstallation)
	m.HandleFunc("GET /users/{owner}/installation", s.findInstallation)
	m.HandleFunc("POST /app/installations/{id}/access_tokens", s.accessToken)
	m.HandleFunc("GET /users/{owner}", s.getUser)
	m.HandleFunc("POST /orgs/{owner}/repos", s.postRepo)
	m.HandleFunc("POST /user/repos", s.postRepo)
	m.HandleFunc("GET /repos/{owner}/{repo}", s.getRepo)
	m.HandleFunc("PATCH /repos/{owner}/{repo}", s.patchRepo)
	m.HandleFunc("PUT /repos/{owner}/{repo}/topics", s.putTopics)
	m.HandleFunc("PUT /repos/{owner}/{repo}/branches/{branch}/protection", s.putProtection)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	m.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.createPull)
	m.HandleFunc("PATCH /repos/{owner}/{repo}/pulls/{number}", s.updatePull)
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/labels", s.addLabels)
	m.HandleFunc("POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", s.dispatch)
	m.HandleFunc("GET /repos/{owner}/{repo}/hooks", s.listHooks)
	m.HandleFunc("POST /repos/{owner}/{repo}/hooks", s.createHook)
	m.HandleFunc("PATCH /repos/{owner}/{repo}/hooks/{id}", s.updateHook)
	m.HandleFunc("/git/", s.serveGit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/git/") {
			s.mu.Lock()
			s.apiCalls++
			s.mu.Unlock()
		}
		m.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, e *httpError) {
	writeJSON(w, e.status, map[string]any{"message": e.msg, "documentation_url": "https://docs.github.com/rest"})
}

func (s *Server) findInstallation(w http.ResponseWriter, r *http.Request) {
	app, herr := s.appFromJWT(r)
	if herr != nil {
		writeErr(w, herr)
		return
	}
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		if _, ok := s.repos[owner+"/"+name]; !ok {
			writeErr(w, deny(http.StatusNotFound, "Not Found"))
			return
		}
	}
	for _, in := range s.installations {
		if in.app != app || !strings.EqualFold(in.account, owner) || (name != "" && in.repos != nil && !slices.Contains(in.repos, name)) {
			continue
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": in.id, "app_id": in.app, "target_type": s.accounts[in.account],
			"account": map[string]any{"login": in.account, "type": s.accounts[in.account]}, "permissions": in.perms,
			"repository_selection": selection(in.repos)})
		return
	}
	writeErr(w, deny(http.StatusNotFound, "Not Found"))
}

func selection(repos []string) string {
	if repos == nil {
		return "all"
	}
	return "selected"
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	app, herr := s.appFromJWT(r)
	if herr != nil {
		writeErr(w, herr)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var body struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		writeErr(w, deny(http.StatusBadRequest, "Problems parsing JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenRequests = append(s.tokenRequests, TokenRequest{Installation: id, Repositories: body.Repositories, Permissions: body.Permissions})
	in, ok := s.installations[id]
	if !ok || in.app != app {
		writeErr(w, deny(http.StatusNotFound, "Not Found"))
		return
	}
	if len(body.RepositoryIDs) > 0 {
		writeErr(w, deny(http.StatusUnprocessableEntity, "the fake supports repositories by name only"))
		return
	}
	var repoObjs []any
	for _, n := range body.Repositories {
		rp, ok := s.repos[in.account+"/"+n]
		if !ok || (in.repos != nil && !slices.Contains(in.repos, n)) {
			writeErr(w, deny(http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation."))
			return
		}
		repoObjs = append(repoObjs, s.repoJSON(rp))
	}
	perms := body.Permissions
	if len(perms) == 0 {
		perms = in.perms
	}
	for p, l := range perms {
		if levels[l] == 0 || levels[in.perms[p]] < levels[l] {
			writeErr(w, deny(http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation."))
			return
		}
	}
	repos := body.Repositories
	if repos == nil {
		repos = in.repos
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	value := s.tokenPrefix + hex.EncodeToString(b)
	exp := time.Now().Add(s.tokenTTL).UTC().Truncate(time.Second)
	s.tokens[value] = &token{installation: id, account: in.account, repos: repos, perms: perms, expires: exp}
	out := map[string]any{"token": value, "expires_at": exp.Format(time.RFC3339), "permissions": perms, "repository_selection": selection(repos)}
	if repoObjs != nil {
		out["repositories"] = repoObjs
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if bearer(r) == "" {
		writeErr(w, deny(http.StatusUnauthorized, "Requires authentication"))
		return
	}
	owner := r.PathValue("owner")
	s.mu.Lock()
	typ, ok := s.accounts[owner]
	s.mu.Unlock()
	if !ok {
		writeErr(w, deny(http.StatusNotFound, "Not Found"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"login": owner, "type": typ, "html_url": s.URL + "/" + owner})
}

func (s *Server) repoJSON(r *repo) map[string]any {
	return map[string]any{
		"id": r.id, "name": r.name, "full_name": r.owner + "/" + r.name,
		"owner":   map[string]any{"login": r.owner, "type": s.accounts[r.owner]},
		"private": r.private, "visibility": r.visibility, "description": r.description,
		"default_branch": r.defaultBranch, "topics": r.topics,
		"html_url":  s.URL + "/" + r.owner + "/" + r.name,
		"clone_url": s.GitURL() + "/" + r.owner + "/" + r.name + ".git",
		"url":       s.URL + "/repos/" + r.owner + "/" + r.name,
	}
}

func (s *Server) postRepo(w http.ResponseWriter, r *http.Request) {
	owner := r.PathValue("owner")
	if owner == "" {
		// POST /user/repos: the token's own account.
		s.mu.Lock()
		if t, ok := s.tokens[bearer(r)]; ok {
			owner = t.account
		}
		s.mu.Unlock()
	}
	t, herr := s.authorize(r, owner, "", "administration", "write")
	if herr != nil {
		writeErr(w, herr)
		return
	}
	if t.repos != nil {
		// The fake's rule: a token limited to repositories cannot make
		// new ones.
		writeErr(w, deny(http.StatusForbidden, "Resource not accessible by integration"))
		return
	}
	var body struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Private     *bool  `json:"private"`
		Visibility  string `json:"visibility"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Name == "" {
		writeErr(w, deny(http.StatusUnprocessableEntity, "Repository creation failed."))
		return
	}
	vis := body.Visibility
	if vis == "" {
		vis = "public"
		if body.Private != nil && *body.Private {
			vis = "private"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.createRepo(owner, body.Name, vis != "public", vis, body.Description)
	if errors.Is(err, errExists) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Repository creation failed.",
			"errors": []any{map[string]any{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}}})
		return
	}
	if err != nil {
		writeErr(w, deny(http.StatusInternalServerError, err.Error()))
		return
	}
	writeJSON(w, http.StatusCreated, s.repoJSON(rp))
}

// repoFor authorizes and finds owner/repo of the request.
func (s *Server) repoFor(w http.ResponseWriter, r *http.Request, perm, level string) *repo {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	if _, herr := s.authorize(r, owner, name, perm, level); herr != nil {
		writeErr(w, herr)
		return nil
	}
	s.mu.Lock()
	rp, ok := s.repos[owner+"/"+name]
	s.mu.Unlock()
	if !ok {
		writeErr(w, deny(http.StatusNotFound, "Not Found"))
		return nil
	}
	return rp
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	if rp := s.repoFor(w, r, "metadata", "read"); rp != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(w, http.StatusOK, s.repoJSON(rp))
	}
}

func (s *Server) patchRepo(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "administration", "write")
	if rp == nil {
		return
	}
	var body struct {
		DefaultBranch *string `json:"default_branch"`
		Description   *string `json:"description"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.DefaultBranch != nil {
		if err := s.gitCmd(s.repoDir(rp.owner, rp.name), "rev-parse", "--verify", "-q", "refs/heads/"+*body.DefaultBranch).Run(); err != nil {
			writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed: default branch does not exist"))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if body.DefaultBranch != nil {
		rp.defaultBranch = *body.DefaultBranch
		_ = s.gitCmd(s.repoDir(rp.owner, rp.name), "symbolic-ref", "HEAD", "refs/heads/"+*body.DefaultBranch).Run()
	}
	if body.Description != nil {
		rp.description = *body.Description
	}
	writeJSON(w, http.StatusOK, s.repoJSON(rp))
}

func (s *Server) putTopics(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "administration", "write")
	if rp == nil {
		return
	}
	var body struct {
		Names []string `json:"names"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp.topics = body.Names
	writeJSON(w, http.StatusOK, map[string]any{"names": rp.topics})
}

func (s *Server) putProtection(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "administration", "write")
	if rp == nil {
		return
	}
	branch := r.PathValue("branch")
	if err := s.gitCmd(s.repoDir(rp.owner, rp.name), "rev-parse", "--verify", "-q", "refs/heads/"+branch).Run(); err != nil {
		writeErr(w, deny(http.StatusNotFound, "Branch not found"))
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp.protection[branch] = body
	writeJSON(w, http.StatusOK, map[string]any{"url": s.URL + "/repos/" + rp.owner + "/" + rp.name + "/branches/" + branch + "/protection"})
}

func (s *Server) pullJSON(rp *repo, p *pull) map[string]any {
	return map[string]any{"number": p.number, "state": p.state, "title": p.title, "body": p.body, "draft": p.draft,
		"html_url": s.URL + "/" + rp.owner + "/" + rp.name + "/pull/" + strconv.Itoa(p.number),
		"head":     map[string]any{"ref": p.head, "label": rp.owner + ":" + p.head},
		"base":     map[string]any{"ref": p.base, "label": rp.owner + ":" + p.base}}
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "pull_requests", "read")
	if rp == nil {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, p := range rp.pulls {
		if (state != "all" && p.state != state) || (q.Get("head") != "" && q.Get("head") != rp.owner+":"+p.head) || (q.Get("base") != "" && q.Get("base") != p.base) {
			continue
		}
		out = append(out, s.pullJSON(rp, p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "pull_requests", "write")
	if rp == nil {
		return
	}
	var body struct {
		Title, Body, Head, Base string
		Draft                   bool
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Title == "" || body.Head == "" || body.Base == "" {
		writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed"))
		return
	}
	for _, b := range []string{body.Head, body.Base} {
		if err := s.gitCmd(s.repoDir(rp.owner, rp.name), "rev-parse", "--verify", "-q", "refs/heads/"+b).Run(); err != nil {
			writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed: branch "+b+" does not exist"))
			return
		}
	}
	s.mu.Lock()
	hold := s.pullHold
	s.pullHold = nil
	s.mu.Unlock()
	if hold != nil {
		close(hold.reached)
		<-hold.release
		if !hold.applied {
			writeErr(w, deny(http.StatusBadGateway, "Bad Gateway"))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range rp.pulls {
		if p.state == "open" && p.head == body.Head && p.base == body.Base {
			writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed: A pull request already exists for "+rp.owner+":"+body.Head+"."))
			return
		}
	}
	p := &pull{number: len(rp.pulls) + 1, title: body.Title, body: body.Body, head: body.Head, base: body.Base, state: "open", draft: body.Draft}
	rp.pulls = append(rp.pulls, p)
	writeJSON(w, http.StatusCreated, s.pullJSON(rp, p))
}

func (s *Server) updatePull(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "pull_requests", "write")
	if rp == nil {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	var body struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 1 || n > len(rp.pulls) {
		writeErr(w, deny(http.StatusNotFound, "Not Found"))
		return
	}
	p := rp.pulls[n-1]
	if body.Title != nil {
		p.title = *body.Title
	}
	if body.Body != nil {
		p.body = *body.Body
	}
	writeJSON(w, http.StatusOK, s.pullJSON(rp, p))
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "issues", "write")
	if rp == nil {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	// GitHub takes {"labels": [...]} or a bare array (go-github sends
	// the array).
	var body struct {
		Labels []string `json:"labels"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body.Labels); err != nil {
		if err := json.Unmarshal(raw, &body); err != nil {
			writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed"))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range body.Labels {
		if !slices.Contains(rp.labels[n], l) {
			rp.labels[n] = append(rp.labels[n], l)
		}
	}
	out := []any{}
	for _, l := range rp.labels[n] {
		out = append(out, map[string]any{"name": l})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "actions", "write")
	if rp == nil {
		return
	}
	var body struct {
		Ref    string         `json:"ref"`
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Ref == "" {
		writeErr(w, deny(http.StatusUnprocessableEntity, "Invalid request: ref is required"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp.dispatches = append(rp.dispatches, Dispatch{Workflow: r.PathValue("workflow"), Ref: body.Ref, Inputs: body.Inputs})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) hookJSON(rp *repo, h *hook) map[string]any {
	cfg := map[string]any{}
	for k, v := range h.config {
		if k == "secret" {
			v = "********" // GitHub never returns a hook's secret
		}
		cfg[k] = v
	}
	return map[string]any{"id": h.id, "name": "web", "active": h.active, "events": h.events, "config": cfg,
		"url": s.URL + "/repos/" + rp.owner + "/" + rp.name + "/hooks/" + strconv.FormatInt(h.id, 10)}
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "repository_hooks", "read")
	if rp == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, h := range rp.hooks {
		out = append(out, s.hookJSON(rp, h))
	}
	writeJSON(w, http.StatusOK, out)
}

type hookBody struct {
	Events []string       `json:"events"`
	Active *bool          `json:"active"`
	Config map[string]any `json:"config"`
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "repository_hooks", "write")
	if rp == nil {
		return
	}
	var body hookBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Config["url"] == nil {
		writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range rp.hooks {
		if h.config["url"] == body.Config["url"] {
			writeErr(w, deny(http.StatusUnprocessableEntity, "Validation Failed: Hook already exists on this repository"))
			return
		}
	}
	s.nextID++
	h := &hook{id: s.nextID, events: body.Events, active: body.Active == nil || *body.Active, config: body.Config}
	rp.hooks = append(rp.hooks, h)
	writeJSON(w, http.StatusCreated, s.hookJSON(rp, h))
}

func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) {
	rp := s.repoFor(w, r, "repository_hooks", "write")
	if rp == nil {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var body hookBody
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range rp.hooks {
		if h.id == id {
			if body.Events != nil {
				h.events = body.Events
			}
			if body.Active != nil {
				h.active = *body.Active
			}
			if body.Config != nil {
				h.config = body.Config
			}
			writeJSON(w, http.StatusOK, s.hookJSON(rp, h))
			return
		}
	}
	writeErr(w, deny(http.StatusNotFound, "Not Found"))
}
