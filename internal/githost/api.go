package githost

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// APIPrefix is where the host serves the small part of GitHub's REST API
// that publish:github:pull-request uses, with GitHub's paths and payload
// shapes, so the action runs the same go-github code against rigger dev
// as against GitHub: GET /repos/{owner}/{repo}, GET and POST
// /repos/{owner}/{repo}/pulls, GET and PATCH .../pulls/{n}, GET and PUT
// .../pulls/{n}/merge.
const APIPrefix = Prefix + "api/v3/"

// maxAPIBody bounds a REST request's body.
const maxAPIBody = 1 << 20

// APIBaseURL is the REST API's base URL, with its trailing slash (a
// GitHub Enterprise Server's form: <host>/api/v3/).
func (h *Host) APIBaseURL() string { return "http://" + h.addr + APIPrefix }

// PullURL is the page of pull request number of owner/repo.
func (h *Host) PullURL(owner, repo string, number int) string {
	return h.PullsURL(owner, repo) + "/" + strconv.Itoa(number)
}

// PullsURL is the page listing owner/repo's pull requests.
func (h *Host) PullsURL(owner, repo string) string {
	return h.BaseURL() + "/" + strings.ToLower(owner) + "/" + strings.ToLower(repo) + "/pulls"
}

// serveAPI answers /git/api/v3/repos/{owner}/{repo}[/pulls[/{n}[/merge]]].
func (h *Host) serveAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, APIPrefix)
	parts := strings.Split(rest, "/")
	if len(parts) < 3 || parts[0] != "repos" {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	owner, repo := strings.ToLower(parts[1]), strings.ToLower(parts[2])
	if err := errors.Join(checkName("owner", owner), checkName("repository", repo)); err != nil {
		apiError(w, http.StatusNotFound, "Not Found: "+err.Error())
		return
	}
	if !h.exists(owner, repo) {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	parts = parts[3:]
	number := 0
	if len(parts) >= 2 && parts[0] == "pulls" {
		n, err := strconv.Atoi(parts[1])
		if err != nil || n <= 0 || strconv.Itoa(n) != parts[1] {
			apiError(w, http.StatusNotFound, "Not Found")
			return
		}
		number = n
	}
	sub := strings.Join(parts, "/") // "", pulls, pulls/3, pulls/3/merge
	if number > 0 {
		sub = "pulls/{n}" + strings.TrimPrefix(sub, "pulls/"+parts[1])
	}
	route := r.Method + " " + sub
	switch route {
	case "GET ":
		writeJSON(w, http.StatusOK, h.repoJSON(owner, repo, h.defaultBranch(h.repoDir(owner, repo))))
	case "GET pulls":
		h.listPulls(w, r, owner, repo)
	case "POST pulls":
		h.createPull(w, r, owner, repo)
	case "GET pulls/{n}":
		p, err := h.GetPull(owner, repo, number)
		if err != nil {
			apiFail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, h.pullsJSON(owner, repo, p)[0])
	case "PATCH pulls/{n}":
		h.editPull(w, r, owner, repo, number)
	case "GET pulls/{n}/merge":
		if p, err := h.GetPull(owner, repo, number); err == nil && p.Merged {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		apiError(w, http.StatusNotFound, "Not Found")
	case "PUT pulls/{n}/merge":
		h.mergePull(w, r, owner, repo, number)
	default:
		apiError(w, http.StatusNotFound, "Not Found")
	}
}

// writer checks that r carries a token of this host for owner/repo that
// may change pull requests (and, with contents, push).
func (h *Host) writer(w http.ResponseWriter, r *http.Request, owner, repo string, contents bool) (token, bool) {
	t, err := h.pushToken(r)
	if err != nil {
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return t, false
	}
	if t.Repo != owner+"/"+repo || !t.PR || (contents && !t.Write) {
		apiError(w, http.StatusForbidden, "Resource not accessible by integration: the token is not for changing pull requests of "+owner+"/"+repo)
		return t, false
	}
	return t, true
}

func (h *Host) listPulls(w http.ResponseWriter, r *http.Request, owner, repo string) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: state is open, closed or all")
		return
	}
	head := q.Get("head")
	if o, b, ok := strings.Cut(head, ":"); ok {
		if !strings.EqualFold(o, owner) {
			writeJSON(w, http.StatusOK, []any{}) // another owner's fork: none here
			return
		}
		head = b
	}
	pulls, err := h.Pulls(owner, repo)
	if err != nil {
		apiFail(w, err)
		return
	}
	var match []Pull
	for i := len(pulls) - 1; i >= 0; i-- { // newest first, as GitHub
		p := pulls[i]
		if (state != "all" && p.State != state) || (head != "" && p.Head != head) || (q.Get("base") != "" && p.Base != q.Get("base")) {
			continue
		}
		match = append(match, p)
	}
	writeJSON(w, http.StatusOK, h.pullsJSON(owner, repo, match...))
}

func (h *Host) createPull(w http.ResponseWriter, r *http.Request, owner, repo string) {
	t, ok := h.writer(w, r, owner, repo, false)
	if !ok {
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		Head  *string `json:"head"`
		Base  *string `json:"base"`
		Draft *bool   `json:"draft"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	p := Pull{Title: deref(in.Title), Body: deref(in.Body), Head: deref(in.Head), Base: deref(in.Base), Draft: in.Draft != nil && *in.Draft}
	if o, b, ok := strings.Cut(p.Head, ":"); ok {
		if !strings.EqualFold(o, owner) {
			apiError(w, http.StatusUnprocessableEntity, "Validation Failed: pull requests from another owner's fork are not supported by rigger dev's git host")
			return
		}
		p.Head = b
	}
	np, err := h.CreatePull(owner, repo, "rigger-task-"+t.Task, p)
	if errors.Is(err, errs.ErrConflict) {
		// GitHub answers a duplicate with a validation error.
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: "+err.Error())
		return
	}
	if err != nil {
		apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, h.pullsJSON(owner, repo, np)[0])
}

func (h *Host) editPull(w http.ResponseWriter, r *http.Request, owner, repo string, number int) {
	if _, ok := h.writer(w, r, owner, repo, false); !ok {
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.State != nil || in.Base != nil {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: rigger dev's git host changes a pull request's title and body only")
		return
	}
	p, err := h.EditPull(owner, repo, number, in.Title, in.Body)
	if err != nil {
		apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.pullsJSON(owner, repo, p)[0])
}

func (h *Host) mergePull(w http.ResponseWriter, r *http.Request, owner, repo string, number int) {
	t, ok := h.writer(w, r, owner, repo, true)
	if !ok {
		return
	}
	var in struct {
		SHA         string `json:"sha"`
		MergeMethod string `json:"merge_method"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.MergeMethod != "" && in.MergeMethod != "merge" {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: rigger dev's git host merges (fast-forward or merge commit) only, no "+in.MergeMethod)
		return
	}
	p, err := h.MergePull(owner, repo, number, "rigger-task-"+t.Task, in.SHA)
	if err != nil {
		apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": p.MergeCommitSHA, "merged": true, "message": "Pull Request successfully merged"})
}

// repoJSON is a repository as GitHub's REST API shows it (the fields
// clients read).
func (h *Host) repoJSON(owner, repo, branch string) map[string]any {
	f := fnv.New64a()
	f.Write([]byte(owner + "/" + repo))
	return map[string]any{
		"id": int64(f.Sum64() >> 12), "name": repo, "full_name": owner + "/" + repo,
		"owner":   map[string]any{"login": owner, "type": "Organization"},
		"private": false, "visibility": "public", "default_branch": branch,
		"html_url": h.BaseURL() + "/" + owner + "/" + repo, "clone_url": h.CloneURL(owner, repo),
		"url": h.APIBaseURL() + "repos/" + owner + "/" + repo,
	}
}

// pullsJSON are pull requests as GitHub's REST API shows them (one git
// process for all: the branches' commits).
func (h *Host) pullsJSON(owner, repo string, pulls ...Pull) []map[string]any {
	gitDir := h.repoDir(owner, repo)
	heads := h.branches(gitDir)
	rj := h.repoJSON(owner, repo, h.defaultBranch(gitDir))
	out := []map[string]any{}
	for _, p := range pulls {
		out = append(out, h.pullJSON(owner, repo, p, heads, rj))
	}
	return out
}

// pullJSON is one pull request as GitHub's REST API shows it.
func (h *Host) pullJSON(owner, repo string, p Pull, heads map[string]string, rj map[string]any) map[string]any {
	headSHA, baseSHA := p.HeadSHA, p.BaseSHA
	if p.State == "open" {
		headSHA, baseSHA = heads[p.Head], heads[p.Base]
	}
	api := h.APIBaseURL() + "repos/" + owner + "/" + repo + "/pulls/" + strconv.Itoa(p.Number)
	out := map[string]any{
		"id": int64(p.Number), "number": p.Number, "state": p.State, "title": p.Title, "body": p.Body, "draft": p.Draft,
		"locked": false, "merged": p.Merged, "user": map[string]any{"login": p.User, "type": "Bot"},
		"created_at": p.CreatedAt.Format(time.RFC3339), "updated_at": p.UpdatedAt.Format(time.RFC3339),
		"url": api, "html_url": h.PullURL(owner, repo, p.Number),
		"head": map[string]any{"label": owner + ":" + p.Head, "ref": p.Head, "sha": headSHA, "repo": rj},
		"base": map[string]any{"label": owner + ":" + p.Base, "ref": p.Base, "sha": baseSHA, "repo": rj},
	}
	if p.Merged {
		out["merged_at"] = p.MergedAt.Format(time.RFC3339)
		out["closed_at"] = out["merged_at"]
		out["merge_commit_sha"] = p.MergeCommitSHA
		out["merged_by"] = map[string]any{"login": p.MergedBy}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers as GitHub does: {"message", "documentation_url"}.
func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// apiFail maps an error's category to GitHub's status codes.
func apiFail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errs.ErrInvalid):
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed: "+err.Error())
	case errors.Is(err, errs.ErrNotFound):
		apiError(w, http.StatusNotFound, "Not Found: "+err.Error())
	case errors.Is(err, errs.ErrConflict):
		apiError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrNotMergeable):
		apiError(w, http.StatusMethodNotAllowed, err.Error())
	default:
		apiError(w, http.StatusInternalServerError, fmt.Sprintf("rigger dev's git host: %v", err))
	}
}
