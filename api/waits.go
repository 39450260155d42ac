package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/workflows"
)

// Bounds of what the outside may post.
const (
	maxCallbackBody = 64 << 10
	maxWebhookBody  = 1 << 20
	// callback and webhook requests per peer: a burst, then one per
	// hookInterval.
	hookBurst    = 60
	hookInterval = 250 * time.Millisecond
)

// waitRoutes serves what rigger:wait-for waits for. Neither route takes a
// Rigger credential: a callback's token is its authority (one wait, until
// its deadline), a webhook's HMAC signature is GitHub's.
func (s *Server) waitRoutes(e *gin.Engine) {
	limit := s.hooks.limitPeer("calling back and delivering webhooks")
	e.POST(contract.CallbackPrefix+":token", limit, s.callback)
	e.POST("/api/webhooks/github", limit, s.githubWebhook)
}

// callback serves POST /api/scaffolder/v2/callbacks/:token: its JSON body
// becomes the waiting step's output (payload).
func (s *Server) callback(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxCallbackBody))
	if err != nil {
		writeStatus(c, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "a callback body holds at most 64 KiB of JSON")
		return
	}
	var payload any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &payload); err != nil {
			writeError(c, errs.Invalid("the callback body is not JSON: %v", err))
			return
		}
	}
	task, err := s.tasks.Callback(c.Request.Context(), c.Param("token"), payload)
	if err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "scaffolder.task.callback", "task:"+task, nil)
	c.JSON(http.StatusAccepted, gin.H{"status": "delivered", "taskId": task})
}

// githubWebhook serves POST /api/webhooks/github: a delivery whose
// X-Hub-Signature-256 verifies with a configured webhook secret, seen for
// the first time, wakes the runs waiting for its pull request or workflow.
func (s *Server) githubWebhook(c *gin.Context) {
	hooks := s.deps.Scaffolder.GitHubWebhooks
	if len(hooks) == 0 {
		writeError(c, errs.NotFound("no GitHub webhook secret is configured: set integrations.github[].webhookSecret (repository or organisation webhooks) or apps[].webhookSecret (a GitHub App's)"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBody))
	if err != nil {
		writeStatus(c, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "a webhook delivery holds at most 1 MiB")
		return
	}
	host, ok := verifyGitHubSignature(hooks, c.GetHeader("X-Hub-Signature-256"), body)
	if !ok {
		writeError(c, errs.Unauthenticated("the delivery's X-Hub-Signature-256 does not verify with any configured webhook secret"))
		return
	}
	delivery := c.GetHeader("X-GitHub-Delivery")
	if delivery == "" || len(delivery) > 100 {
		writeError(c, errs.Invalid("X-GitHub-Delivery is missing: it names the delivery, so that none is acted on twice"))
		return
	}
	event := c.GetHeader("X-GitHub-Event")
	key, kind, data, err := githubWait(host, event, body)
	if err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	if key == nil {
		c.JSON(http.StatusOK, gin.H{"status": "ignored", "event": event})
		return
	}
	var woke []string
	replay := false
	sum := sha256.Sum256(body)
	for i, k := range key {
		// Each key is its own delivery for the replay guard, which also
		// knows the body (the delivery id is not signed).
		tasks, rep, err := s.tasks.DeliverEvent(c.Request.Context(), []string{delivery + "#" + strconv.Itoa(i), "body:" + hex.EncodeToString(sum[:]) + "#" + strconv.Itoa(i)}, k, kind, data)
		if err != nil {
			writeError(c, err)
			return
		}
		replay = replay || rep
		woke = append(woke, tasks...)
	}
	if replay {
		c.JSON(http.StatusOK, gin.H{"status": "duplicate", "delivery": delivery})
		return
	}
	s.audit(c, "scaffolder.webhook.github", "delivery:"+delivery, map[string]string{"event": event, "tasks": strings.Join(woke, ",")})
	c.JSON(http.StatusAccepted, gin.H{"status": "delivered", "tasks": len(woke)})
}

// verifyGitHubSignature checks "sha256=<hex HMAC of body>" against every
// secret, in constant time each; it returns the host of the one that
// verifies.
func verifyGitHubSignature(hooks []GitHubWebhook, header string, body []byte) (string, bool) {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return "", false
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil || len(sig) != sha256.Size {
		return "", false
	}
	for _, h := range hooks {
		if len(h.Secret) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, h.Secret)
		mac.Write(body)
		if hmac.Equal(sig, mac.Sum(nil)) {
			return h.Host, true
		}
	}
	return "", false
}

// githubWait reads the wait keys an event wakes and the output it gives;
// no keys for an event nothing waits for (ping, other actions).
func githubWait(host, event string, body []byte) ([]string, string, map[string]any, error) {
	var p struct {
		Action     string `json:"action"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		PullRequest *struct {
			Number         int    `json:"number"`
			ClosedAt       string `json:"closed_at"`
			HTMLURL        string `json:"html_url"`
			Merged         bool   `json:"merged"`
			MergeCommitSHA string `json:"merge_commit_sha"`
			MergedBy       *struct {
				Login string `json:"login"`
			} `json:"merged_by"`
		} `json:"pull_request"`
		WorkflowRun *struct {
			ID             int64  `json:"id"`
			HTMLURL        string `json:"html_url"`
			Conclusion     string `json:"conclusion"`
			HeadSHA        string `json:"head_sha"`
			HeadBranch     string `json:"head_branch"`
			Path           string `json:"path"`
			RunStartedAt   string `json:"run_started_at"`
			CreatedAt      string `json:"created_at"`
			HeadRepository *struct {
				FullName string `json:"full_name"`
			} `json:"head_repository"`
		} `json:"workflow_run"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", nil, errors.New("the delivery is not JSON: set the webhook's content type to application/json")
	}
	repo := strings.ToLower(host + "/" + p.Repository.FullName)
	switch {
	case event == "pull_request" && p.Action == "closed" && p.PullRequest != nil && p.Repository.FullName != "":
		pr := p.PullRequest
		data := map[string]any{"merged": pr.Merged, "url": pr.HTMLURL, "number": pr.Number, "mergeCommitSha": pr.MergeCommitSHA, "startedAt": pr.ClosedAt}
		if pr.MergedBy != nil {
			data["mergedBy"] = pr.MergedBy.Login
		}
		return []string{workflows.WaitKeyPullRequest(repo, pr.Number)}, contract.WaitPullRequest, data, nil
	case event == "workflow_run" && p.Action == "completed" && p.WorkflowRun != nil && p.Repository.FullName != "":
		r := p.WorkflowRun
		// A run of a fork's pull request names the base repository, a
		// branch the fork chose and a workflow file the fork may have
		// changed: it never ends a wait.
		if r.HeadRepository == nil || !strings.EqualFold(r.HeadRepository.FullName, p.Repository.FullName) {
			return nil, "", nil, nil
		}
		file := path.Base(r.Path) // .github/workflows/ci.yml
		started := r.RunStartedAt
		if started == "" {
			started = r.CreatedAt
		}
		data := map[string]any{"conclusion": r.Conclusion, "url": r.HTMLURL, "runId": r.ID, "headSha": r.HeadSHA, "headBranch": r.HeadBranch, "startedAt": started}
		keys := []string{workflows.WaitKeyWorkflowRun(repo, file, "")}
		if r.HeadBranch != "" {
			keys = append(keys, workflows.WaitKeyWorkflowRun(repo, file, r.HeadBranch))
		}
		return keys, contract.WaitWorkflowRun, data, nil
	}
	return nil, "", nil, nil
}

// loggedPath is the request's path for logs and audit events: a callback's
// token is a capability, so its path is logged without it.
func loggedPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, contract.CallbackPrefix) {
		return contract.CallbackPrefix + ":token"
	}
	return r.URL.Path
}
