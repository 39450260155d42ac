package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
)

// clusterQuickTemplates are a one-step template (for many creates) and a
// chatty one whose events come over several seconds (for streams).
const clusterQuickTemplates = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: quick
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - properties:
        n: {type: string}
  steps:
    - id: log
      name: Log
      action: debug:log
      input: {message: "quick ${{ parameters.n }}"}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: chatty
spec:
  owner: group:default/team-a
  type: service
  steps:
    - {id: a, name: A, action: debug:log, input: {message: first}}
    - {id: wa, name: Wait A, action: debug:wait, input: {seconds: 3}}
    - {id: b, name: B, action: debug:log, input: {message: second}}
    - {id: wb, name: Wait B, action: debug:wait, input: {seconds: 3}}
    - {id: c, name: C, action: debug:log, input: {message: third}}
`

// TestClusterAPI runs the API's failure cases on one topology of two
// servers and two workers: Idempotency-Key, event streams that lose their
// server, and a rolling restart of the servers under 50 clients.
func TestClusterAPI(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates.yaml")
	if err := os.WriteFile(tpl, []byte(clusterQuickTemplates), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, 2, 2, fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s}\n", tpl))
	c.waitTemplates(t, 2)
	t.Run("IdempotencyKey", func(t *testing.T) { clusterIdempotencyKey(t, c) })
	t.Run("StreamsSurviveServerKill", func(t *testing.T) { clusterStreamsSurviveServerKill(t, c) })
	t.Run("RollingRestartUnder50Clients", func(t *testing.T) { clusterRollingRestart(t, c) })
	t.Run("PostgresDown10s", func(t *testing.T) { clusterPostgresOutage(t, c) })
}

// createKeyed posts a create with an Idempotency-Key to api and returns
// the status, the task id and the error message.
func createKeyed(ctx context.Context, token, api, key string, body any) (int, string, string, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", api+"/api/scaffolder/v2/tasks", bytes.NewReader(raw))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID    string
		Error struct{ Message string }
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", "", err
	}
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.ID, out.Error.Message, nil
}

func clusterIdempotencyKey(t *testing.T, c *cluster) {
	ctx := context.Background()
	key := "key-" + uuid.NewString()
	body := map[string]any{"templateRef": "template:default/quick", "values": map[string]any{"n": "1"}}
	code, id, msg, err := createKeyed(ctx, c.token, c.servers[0].api, key, body)
	if err != nil || code != http.StatusCreated || id == "" {
		t.Fatalf("first create: %d %q %s %v", code, id, msg, err)
	}
	// The same key again, on the other replica, while running and after
	// completion: the same task, 200, no second run.
	code, again, msg, err := createKeyed(ctx, c.token, c.servers[1].api, key, body)
	if err != nil || code != http.StatusOK || again != id {
		t.Fatalf("repeat on the other replica: %d %q (want 200 %q) %s %v", code, again, id, msg, err)
	}
	if tr := waitTaskAsWithin(t, c.token, c.servers[0].api, id, time.Minute); tr.Status != "completed" {
		t.Fatalf("task: %+v", tr)
	}
	if code, again, _, _ = createKeyed(ctx, c.token, c.servers[0].api, key, body); code != http.StatusOK || again != id {
		t.Fatalf("repeat after completion: %d %q", code, again)
	}
	if n := strings.Count(eventTextAs(t, c.token, c.servers[0].api, id), "quick 1"); n != 1 {
		t.Errorf("the step logged %d times, want 1", n)
	}
	// The same key for another request is refused.
	other := map[string]any{"templateRef": "template:default/quick", "values": map[string]any{"n": "2"}}
	if code, _, msg, _ = createKeyed(ctx, c.token, c.servers[1].api, key, other); code != http.StatusUnprocessableEntity || !strings.Contains(msg, "Idempotency-Key") {
		t.Fatalf("same key, other values: %d %q, want 422", code, msg)
	}
	if code, _, _, _ = createKeyed(ctx, c.token, c.servers[1].api, strings.Repeat("k", 300), body); code != http.StatusBadRequest {
		t.Fatalf("a 300-character key: %d, want 400", code)
	}
	// Without a key every create is a new task.
	_, a, _, _ := createKeyed(ctx, c.token, c.servers[0].api, "", body)
	_, b, _, _ := createKeyed(ctx, c.token, c.servers[0].api, "", body)
	if a == "" || a == b {
		t.Fatalf("creates without a key: %q %q", a, b)
	}
}

// sseEvent is one event of a task's event stream.
type sseEvent struct {
	ID   int    `json:"id"`
	Type string `json:"type"`
}

// streamEvents reads api's event stream of task id after after, sending
// each event's id to got, until the stream ends; it returns why it ended.
func streamEvents(ctx context.Context, token, api, id string, after int, got chan<- sseEvent) error {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/scaffolder/v2/tasks/%s/eventstream?after=%d", api, id, after), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("eventstream: status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e sseEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return fmt.Errorf("event %q: %v", data, err)
		}
		got <- e
		if e.Type == "completion" {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// clusterStreamsSurviveServerKill: clients stream a task's events from
// server 0, which is killed -9 mid-run; each reconnects to server 1 with
// ?after= its last event and ends with every event exactly once.
func clusterStreamsSurviveServerKill(t *testing.T, c *cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, id, msg, err := createKeyed(ctx, c.token, c.servers[1].api, "", map[string]any{"templateRef": "template:default/chatty"})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create: %d %s %v", code, msg, err)
	}
	const clients = 5
	victim, survivor := c.servers[0], c.servers[1]
	type result struct {
		ids         []int
		reconnected bool
		err         error
	}
	results := make([]result, clients)
	firstEvents := make(chan struct{}, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			got := make(chan sseEvent, 100)
			api, after, signalled := victim.api, 0, false
			for attempt := 0; attempt < 20; attempt++ {
				done := make(chan error, 1)
				go func(api string, after int, got chan sseEvent) {
					done <- streamEvents(ctx, c.token, api, id, after, got)
					close(got)
				}(api, after, got)
				for e := range got {
					r.ids = append(r.ids, e.ID)
					after = e.ID
					if !signalled {
						signalled = true
						firstEvents <- struct{}{}
					}
				}
				err := <-done
				if err == nil {
					return
				}
				// The stream broke: carry on from the last event, on the
				// replica that is still up.
				got = make(chan sseEvent, 100)
				api, r.reconnected = survivor.api, true
				time.Sleep(100 * time.Millisecond)
			}
			r.err = errors.New("no completion after 20 connections")
		}()
	}
	for range clients {
		select {
		case <-firstEvents:
		case <-ctx.Done():
			t.Fatal("the clients got no first event")
		}
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.wait(t, 10*time.Second)
	wg.Wait()
	var all []struct{ ID int }
	if code := doJSONAs(t, c.token, "GET", survivor.api+"/api/scaffolder/v2/tasks/"+id+"/events", nil, &all); code != http.StatusOK {
		t.Fatalf("events: %d", code)
	}
	var want []int
	for _, e := range all {
		want = append(want, e.ID)
	}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("client %d: %v", i, r.err)
		}
		if !r.reconnected {
			t.Errorf("client %d never lost its stream: the kill came too late to test anything", i)
		}
		if !slices.Equal(r.ids, want) {
			t.Errorf("client %d got events %v, the task has %v", i, r.ids, want)
		}
	}
	// Server 0 comes back on its port for the next test.
	c.restartServer(t, 0)
}

// clusterRollingRestart: 50 clients create tasks (each create with its
// own Idempotency-Key, retried with it on a connection error or a 502,
// 503 or 504, on the other replica) while each server replica in turn is
// stopped (SIGTERM) and started again. No create may fail in a way a
// client could not safely retry, and every create is exactly one task.
func clusterRollingRestart(t *testing.T, c *cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	type outcome struct {
		key, id  string
		attempts int
		err      string
	}
	var mu sync.Mutex
	var outcomes []outcome
	// A restarted replica keeps its address; the clients never read
	// c.servers, which the restarts replace.
	apis := []string{c.servers[0].api, c.servers[1].api}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{key: uuid.NewString()}
				body := map[string]any{"templateRef": "template:default/quick", "values": map[string]any{"n": fmt.Sprintf("%d-%d", i, n)}}
				for o.attempts = 1; ; o.attempts++ {
					api := apis[(i+o.attempts)%len(apis)]
					code, id, msg, err := createKeyed(ctx, c.token, api, o.key, body)
					if err == nil && (code == http.StatusCreated || code == http.StatusOK) {
						if o.id != "" && o.id != id {
							o.err = fmt.Sprintf("a retry answered task %s, the first answer was %s", id, o.id)
						}
						o.id = id
						break
					}
					retryable := err != nil || code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
					if !retryable || o.attempts == 30 || ctx.Err() != nil {
						o.err = fmt.Sprintf("attempt %d: status %d %q %v", o.attempts, code, msg, err)
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
			}
		}()
	}
	time.Sleep(2 * time.Second)
	for i := range c.servers {
		c.restartServer(t, i)
		time.Sleep(2 * time.Second)
	}
	close(stop)
	wg.Wait()
	ids := map[string]bool{}
	retried := 0
	for _, o := range outcomes {
		if o.err != "" {
			t.Errorf("create %s failed: %s", o.key, o.err)
		}
		if o.attempts > 1 {
			retried++
		}
		if ids[o.id] {
			t.Errorf("two creates got task %s", o.id)
		}
		ids[o.id] = true
	}
	t.Logf("%d creates by 50 clients during the rolling restart, %d needed a retry", len(outcomes), retried)
	if retried == 0 {
		t.Error("no create needed a retry: the restarts did not overlap the load")
	}
	// Temporal has exactly one workflow per create (visibility on
	// PostgreSQL, by the RiggerTemplate search attribute).
	tc, err := c.temporal.Dial(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: c.temporal.Namespace, Query: "RiggerTemplate = 'template:default/quick'",
		})
		if err != nil {
			t.Fatalf("count workflows: %v", err)
		}
		// The IdempotencyKey subtest started 3 quick tasks.
		if resp.GetCount() == int64(len(outcomes)+3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Temporal counts %d quick workflows, want %d (one per create)", resp.GetCount(), len(outcomes)+3)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// restartServer stops server i (SIGTERM; a killed one is just started) and
// starts it again on its port with the same flags.
func (c *cluster) restartServer(t *testing.T, i int) {
	t.Helper()
	old := c.servers[i]
	select {
	case <-old.done:
	default:
		if err := old.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		old.wait(t, 30*time.Second)
	}
	s := startBin(c.owner, c.bin, c.dir, c.env, old.cmd.Args[1:]...)
	s.api = old.api
	s.waitReady(t, 90*time.Second)
	c.servers[i] = s
}
