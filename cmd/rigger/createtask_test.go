package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestCreateTaskRetriesWithOneKey: rigger run's create sends one
// Idempotency-Key on every attempt, tries again after a dropped
// connection and a 503, and does not retry an answer a retry cannot
// change.
func TestCreateTaskRetriesWithOneKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	answers := []int{0, http.StatusServiceUnavailable, http.StatusCreated} // 0: drop the connection
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch code := answers[min(n, len(answers))-1]; code {
		case 0:
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		case http.StatusCreated:
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":"t-1"}`))
		default:
			w.WriteHeader(code)
			w.Write([]byte(`{"error":{"name":"Error","message":"refused"}}`))
		}
	}))
	defer srv.Close()
	api := &apiClient{base: srv.URL}
	pauses := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	id, err := createTask(context.Background(), api, map[string]any{"templateRef": "template:default/x"}, pauses)
	if err != nil || id != "t-1" {
		t.Fatalf("createTask = %q, %v", id, err)
	}
	if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Fatalf("Idempotency-Keys sent: %q, want one key three times", keys)
	}
	// A second run is another invocation: another key.
	keys, answers = nil, []int{http.StatusCreated}
	if _, err := createTask(context.Background(), api, map[string]any{"templateRef": "template:default/x"}, pauses); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] == "" {
		t.Fatalf("keys %q", keys)
	}
	// 422 (the key reused for another request) is final.
	keys, answers = nil, []int{http.StatusUnprocessableEntity}
	if _, err := createTask(context.Background(), api, map[string]any{}, pauses); err == nil || len(keys) != 1 {
		t.Fatalf("a 422 was retried or accepted: %v, %d attempts", err, len(keys))
	}
}
