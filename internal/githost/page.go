package githost

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// maxDiffBytes bounds the diff a pull request's page shows.
const maxDiffBytes = 256 << 10

// MergedBy is who merges from the pages: rigger dev's one guest (the host
// runs only in rigger dev, on loopback, where every request is the guest).
const MergedBy = "guest"

// The pages are plain HTML: no script, no inline style (the API's CSP
// allows neither), every value escaped by html/template.
var pagesTmpl = template.Must(template.New("pulls").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<p><a href="{{.ListURL}}">{{.Owner}}/{{.Repo}}: pull requests</a> · clone: <code>git clone {{.CloneURL}}</code></p>
{{if .Files}}
<h1>{{.Owner}}/{{.Repo}}</h1>
<p><a href="{{.ListURL}}">Pull requests</a>{{if .Open}} ({{.Open}} open){{end}}</p>
<h2>Files on {{.Branch}}</h2>
<ul>{{range .Files}}<li><code>{{.}}</code></li>{{end}}</ul>
{{if .Readme}}<h2>README.md</h2>
<pre>{{.Readme}}</pre>{{end}}
{{else if .Pull}}{{with .Pull}}
<h1>{{.Title}} <small>#{{.Number}}</small></h1>
<p><strong>{{if .Merged}}Merged{{else if eq .State "open"}}Open{{else}}Closed{{end}}</strong>:
<code>{{.Head}}</code> into <code>{{.Base}}</code>, opened by {{.User}} on {{.CreatedAt.Format "2006-01-02 15:04 MST"}}{{if .Merged}};
merged by {{.MergedBy}} as <code>{{.MergeCommitSHA}}</code>{{end}}</p>
<pre>{{.Body}}</pre>
{{end}}
{{if .CanMerge}}<form method="post" action="{{.MergeURL}}">
<input type="hidden" name="token" value="{{.MergeToken}}">
<input type="hidden" name="sha" value="{{.MergeSHA}}">
<button type="submit">Merge pull request</button> (fast-forward, or a merge commit)
</form>{{end}}
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
<h2>Changes</h2>
<pre>{{.Diff}}</pre>
{{else}}
<h1>Pull requests of {{.Owner}}/{{.Repo}}</h1>
{{if .Pulls}}<table>
<tr><th>#</th><th>Title</th><th>Branch</th><th>State</th></tr>
{{range .Pulls}}<tr><td>{{.Number}}</td><td><a href="{{$.ListURL}}/{{.Number}}">{{.Title}}</a></td><td><code>{{.Head}}</code> → <code>{{.Base}}</code></td><td>{{if .Merged}}merged{{else}}{{.State}}{{end}}</td></tr>
{{end}}</table>{{else}}<p>No pull requests yet.</p>{{end}}
{{end}}
</body></html>
`))

type pageData struct {
	Title, Owner, Repo, ListURL, CloneURL string
	Pulls                                 []Pull
	Pull                                  *Pull
	CanMerge                              bool
	MergeURL, MergeToken, Message, Diff   string
	// MergeSHA is the head the page shows: the merge takes that commit
	// or nothing (a push after the page was read is not merged unseen).
	MergeSHA string
	// The repository page.
	Files          []string
	Branch, Readme string
	Open           int
}

// pullsPath is the path of owner/repo's pull requests: the pages link and
// post by path, so they work under whichever loopback name the browser
// used (the CSP's form-action 'self' would refuse another origin).
func pullsPath(owner, repo string) string { return Prefix + owner + "/" + repo + "/pulls" }

// maxPageFiles bounds the files a repository page lists.
const maxPageFiles = 500

// serveRepoPage serves /git/<owner>/<repo>: how to clone it, its files on
// the default branch, its README and a link to its pull requests.
func (h *Host) serveRepoPage(w http.ResponseWriter, owner, repo string) {
	owner, repo = strings.ToLower(owner), strings.ToLower(repo)
	if err := errors.Join(checkName("owner", owner), checkName("repository", repo)); err != nil || !h.exists(owner, repo) {
		httpError(w, http.StatusNotFound, "no such repository")
		return
	}
	gitDir := h.repoDir(owner, repo)
	d := pageData{Title: owner + "/" + repo, Owner: owner, Repo: repo, ListURL: pullsPath(owner, repo), CloneURL: h.CloneURL(owner, repo),
		Branch: h.defaultBranch(gitDir)}
	if sha := h.branchSHA(gitDir, d.Branch); sha != "" {
		out, _ := h.git(gitDir, nil, nil, "ls-tree", "-r", "--name-only", "-z", sha)
		for _, f := range strings.Split(out, "\x00") {
			if f != "" && len(d.Files) < maxPageFiles {
				d.Files = append(d.Files, f)
			}
		}
		if readme, err := h.git(gitDir, nil, nil, "cat-file", "blob", sha+":README.md"); err == nil {
			d.Readme = readme
			if len(d.Readme) > 64<<10 {
				d.Readme = d.Readme[:64<<10] + "\n…"
			}
		}
	}
	if len(d.Files) == 0 {
		d.Files = []string{"(empty: nothing pushed yet)"}
	}
	pulls, _ := h.Pulls(owner, repo)
	for _, p := range pulls {
		if p.State == "open" {
			d.Open++
		}
	}
	h.renderPage(w, http.StatusOK, d)
}

// servePages serves /git/<owner>/<repo>/pulls (the list),
// .../pulls/<n> (one pull request, its diff and a merge button) and
// POST .../pulls/<n>/merge (the button).
func (h *Host) servePages(w http.ResponseWriter, r *http.Request, owner, repo, sub string) {
	owner, repo = strings.ToLower(owner), strings.ToLower(repo)
	if err := errors.Join(checkName("owner", owner), checkName("repository", repo)); err != nil || !h.exists(owner, repo) {
		httpError(w, http.StatusNotFound, "no such repository")
		return
	}
	d := pageData{Owner: owner, Repo: repo, ListURL: pullsPath(owner, repo), CloneURL: h.CloneURL(owner, repo)}
	num, action, _ := strings.Cut(sub, "/")
	if sub == "" {
		if r.Method != http.MethodGet {
			httpError(w, http.StatusMethodNotAllowed, "GET only")
			return
		}
		pulls, err := h.Pulls(owner, repo)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		d.Title, d.Pulls = "Pull requests of "+owner+"/"+repo, pulls
		h.renderPage(w, http.StatusOK, d)
		return
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || strconv.Itoa(n) != num || (action != "" && action != "merge") {
		httpError(w, http.StatusNotFound, "not a pull request page")
		return
	}
	code := http.StatusOK
	switch {
	case action == "merge" && r.Method == http.MethodPost:
		sha := r.PostFormValue("sha")
		if !h.sameOrigin(r) || sha == "" || !hmac.Equal([]byte(r.PostFormValue("token")), []byte(h.mergeToken(owner, repo, n, sha))) {
			httpError(w, http.StatusForbidden, "merge refused: the request did not come from this pull request's page")
			return
		}
		if _, err := h.MergePull(owner, repo, n, MergedBy, sha); err != nil {
			code, d.Message = http.StatusConflict, "Not merged: "+err.Error()
			break
		}
		http.Redirect(w, r, pullsPath(owner, repo)+"/"+num, http.StatusSeeOther)
		return
	case action == "" && r.Method == http.MethodGet:
	default:
		httpError(w, http.StatusMethodNotAllowed, "GET a pull request, POST its merge")
		return
	}
	p, err := h.GetPull(owner, repo, n)
	if err != nil {
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	d.Title, d.Pull = p.Title+" · "+owner+"/"+repo+"#"+num, &p
	d.CanMerge = p.State == "open"
	if d.CanMerge {
		d.MergeSHA = h.branchSHA(h.repoDir(owner, repo), p.Head)
		d.CanMerge = d.MergeSHA != ""
	}
	d.MergeURL, d.MergeToken = pullsPath(owner, repo)+"/"+num+"/merge", h.mergeToken(owner, repo, n, d.MergeSHA)
	if d.Diff, err = h.Diff(owner, repo, p, maxDiffBytes); err != nil {
		d.Diff = "(no diff: " + err.Error() + ")"
	}
	h.renderPage(w, code, d)
}

func (h *Host) renderPage(w http.ResponseWriter, code int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = pagesTmpl.Execute(w, d)
}

// mergeToken is the merge form's anti-forgery value: a page of another
// origin can post a form here but cannot read this page to learn it.
func (h *Host) mergeToken(owner, repo string, n int, sha string) string {
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte("rigger git host merge v2\x00" + owner + "/" + repo + "#" + strconv.Itoa(n) + "\x00" + sha))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// sameOrigin refuses a browser request another site made (its Origin or
// Sec-Fetch-Site says so); a request without them (curl, a test) passes.
func (h *Host) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+h.addr && o != "http://"+r.Host {
		return false
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin" || site == "none"
}
