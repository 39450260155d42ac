package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint: it decodes what exporters
// send to /v1/traces (protobuf, as the protocol defines it).
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	name, traceID, service string
	attrs                  map[string]string
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
		return
	}
	var ex collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &ex); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range ex.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				rec := receivedSpan{name: s.Name, traceID: hex.EncodeToString(s.TraceId), service: service, attrs: map[string]string{}}
				for _, a := range s.Attributes {
					rec.attrs[a.Key] = a.GetValue().GetStringValue()
				}
				r.spans = append(r.spans, rec)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Write(out)
}

func (r *otlpReceiver) find(match func(receivedSpan) bool) (receivedSpan, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if match(s) {
			return s, true
		}
	}
	return receivedSpan{}, false
}

// With tracing.endpoint set, one trace follows a task from the API request
// (continuing the caller's traceparent) through its workflow to the
// activities that ran its steps, tagged with task, template and action.
func TestTracingFollowsATask(t *testing.T) {
	needBinary(t)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	tpl := writeHelloFiles(t)
	p, _ := startDevWithConfig(t, fmt.Sprintf("tracing:\n  endpoint: %s\n", collector.URL)+helloFilesLocation(tpl))
	waitTotal(t, p.api, "kind=template", 1)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body, _ := json.Marshal(map[string]any{"templateRef": "template:default/hello-files", "values": map[string]any{"name": "traced", "wait": 1}})
	req, _ := http.NewRequest("POST", p.api+"/api/scaffolder/v2/tasks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create task: %d", res.StatusCode)
	}
	if got := waitTask(t, p.api, created.ID); got.Status != "completed" {
		t.Fatalf("task ended %s", got.Status)
	}
	inTrace := func(s receivedSpan) bool { return s.traceID == traceID }
	checks := []struct {
		what  string
		match func(receivedSpan) bool
	}{
		{"the API's span with the task", func(s receivedSpan) bool {
			return inTrace(s) && s.name == "POST /api/scaffolder/v2/tasks" && s.attrs["rigger.task_id"] == created.ID &&
				s.attrs["rigger.template"] == "template:default/hello-files" && s.service == "rigger-dev"
		}},
		{"the workflow's run", func(s receivedSpan) bool {
			return inTrace(s) && strings.HasPrefix(s.name, "RunWorkflow:rigger.scaffold")
		}},
		{"the fs:write step's activity", func(s receivedSpan) bool {
			return inTrace(s) && strings.HasPrefix(s.name, "RunActivity:") && s.attrs["rigger.action"] == "fs:write" &&
				s.attrs["rigger.task_id"] == created.ID && s.attrs["rigger.step_id"] == "write" && s.attrs["rigger.template"] == "template:default/hello-files"
		}},
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range checks {
		for {
			if _, ok := recv.find(c.match); ok {
				break
			}
			if time.Now().After(deadline) {
				recv.mu.Lock()
				var seen []string
				for _, s := range recv.spans {
					seen = append(seen, fmt.Sprintf("%s %s %v", s.traceID, s.name, s.attrs))
				}
				recv.mu.Unlock()
				t.Fatalf("no span: %s; received:\n%s", c.what, strings.Join(seen, "\n"))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
