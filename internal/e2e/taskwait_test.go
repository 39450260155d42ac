package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTaskWaitCapAndPrivacy: GET /v2/tasks/:id?wait= through the real
// server. A caller holds at most 10 waiting reads at once: of 11 sent
// together on a task that does not change, one is refused with 429 and
// Retry-After, the rest answer the running task at their bound; an event
// stream of the same caller still opens meanwhile (the caps are apart).
// Another caller's ?wait= of the task answers GET's 404 without waiting.
func TestTaskWaitCapAndPrivacy(t *testing.T) {
	needBinary(t)
	_, addr := startTemporalOnly(t, t.TempDir())
	sw := startTeam(t, addr, waitingTemplate)
	api := sw.server.api + "/api/scaffolder/v2/tasks"
	id := startWaitingTask(t, sw.server.api, aliceToken, map[string]any{"seconds": 300})
	// Until the wait step runs: a step changing under the waiting reads
	// below would end them early (a long poll returns on any step's
	// change), and fewer than 11 would be waiting at once.
	for deadline := time.Now().Add(60 * time.Second); ; {
		var task struct {
			Status string
			Steps  []struct{ ID, Status string }
		}
		code := doJSONAs(t, aliceToken, "GET", api+"/"+id, nil, &task)
		if code == http.StatusOK && task.Status == "processing" && len(task.Steps) == 2 &&
			task.Steps[0].Status == "completed" && task.Steps[1].Status == "processing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task never ran")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Bob may not read it: his longest wait is GET's 404 at once (the
	// context only stops a wait that should not happen).
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if code, _, _ := getAs(ctx, bobToken, api+"/"+id+"?wait=30s"); code != http.StatusNotFound {
		t.Errorf("bob's waiting read of alice's task: %d, want 404", code)
	}

	type answer struct {
		code       int
		retryAfter string
		body       string
	}
	answers := make(chan answer, 11)
	var wg sync.WaitGroup
	for range 11 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, h, body := getAs(context.Background(), aliceToken, api+"/"+id+"?wait=15s")
			answers <- answer{code, h.Get("Retry-After"), body}
		}()
	}
	// Meanwhile (the waits hold 15 s) an event stream of alice opens.
	time.Sleep(2 * time.Second)
	sctx, scancel := context.WithCancel(context.Background())
	if code, _, _ := getAs(sctx, aliceToken, api+"/"+id+"/eventstream"); code != http.StatusOK {
		t.Errorf("alice's event stream while her waiting reads are at their cap: %d", code)
	}
	scancel()
	wg.Wait()
	close(answers)
	refused, served := 0, 0
	for a := range answers {
		switch a.code {
		case http.StatusTooManyRequests:
			refused++
			if a.retryAfter == "" {
				t.Errorf("a 429 without Retry-After: %s", a.body)
			}
		case http.StatusOK:
			var task struct{ Status string }
			if err := json.Unmarshal([]byte(a.body), &task); err != nil || task.Status != "processing" {
				t.Errorf("a waiting read within the cap: %s", a.body)
			}
			served++
		default:
			t.Errorf("a waiting read: %d %s", a.code, a.body)
		}
	}
	if refused != 1 || served != 10 {
		t.Errorf("11 waiting reads at once: %d refused, %d served; want 1 and 10", refused, served)
	}
}

// getAs GETs url with token; for an event stream it reads only the
// header (cancel ctx to close it).
func getAs(ctx context.Context, token, url string) (int, http.Header, string) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, nil, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, resp.Header, ""
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}
