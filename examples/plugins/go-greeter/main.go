// Command go-greeter is an example plugin worker for Rigger: it serves the
// external action acme:greet on its own Temporal task queue. Rigger never
// runs this code; it schedules the action as an activity named acme:greet
// on the queue its configuration names (scaffolder.externalActions) and
// checks the input before and the output after.
//
// It reads only its own environment: TEMPORAL_ADDRESS [127.0.0.1:7233],
// TEMPORAL_NAMESPACE [default], GREETER_TASK_QUEUE [acme-plugins] and, as a
// test aid, GREETER_CALLS_FILE (each call appends the JSON it received, one
// line per call). It imports nothing of Rigger's: the contract is plain
// JSON (see README.md).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// ActionID is the action (and activity type) this plugin serves.
const ActionID = "acme:greet"

// request is what Rigger sends: the step's input, checked against the
// action's input schema, and which run calls. No secret, credential or
// Rigger token is in it.
type request struct {
	Input struct {
		Name string `json:"name"`
		// Inspect adds what this process can see of its surroundings:
		// its environment's variable names and whether it finds a Rigger
		// configuration the way rigger would (RIGGER_CONFIG,
		// ./rigger.yaml).
		Inspect bool `json:"inspect"`
		// TestMode "wrong-output" is a test aid: the greeting comes back
		// as a number, which violates the output schema, so Rigger fails
		// the step.
		TestMode string `json:"testMode"`
	} `json:"input"`
	Run struct {
		TaskID      string `json:"taskId"`
		StepID      string `json:"stepId"`
		TemplateRef string `json:"templateRef"`
		User        string `json:"user"`
		DryRun      bool   `json:"dryRun"`
	} `json:"run"`
}

// greeter holds the plugin's own settings.
type greeter struct {
	callsFile string
	mu        sync.Mutex
}

// Greet implements acme:greet. It returns {"output": {...}}.
func (g *greeter) Greet(ctx context.Context, raw json.RawMessage) (map[string]any, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("acme:greet: bad request: "+err.Error(), "BadRequest", nil)
	}
	if err := g.record(raw); err != nil {
		return nil, err
	}
	activity.RecordHeartbeat(ctx)
	out := map[string]any{"greeting": fmt.Sprintf("Hello, %s!", req.Input.Name)}
	if req.Run.DryRun {
		out["greeting"] = fmt.Sprintf("(dry run) would greet %s", req.Input.Name)
	}
	if req.Input.TestMode == "wrong-output" {
		out["greeting"] = 42
	}
	if req.Input.Inspect {
		var names []string
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
		sort.Strings(names)
		_, fromEnv := os.LookupEnv("RIGGER_CONFIG")
		_, err := os.Stat("rigger.yaml")
		out["envNames"] = names
		out["riggerConfigFound"] = fromEnv || err == nil
	}
	return map[string]any{"output": out}, nil
}

// record appends the request to the calls file, if there is one.
func (g *greeter) record(raw json.RawMessage) error {
	if g.callsFile == "" {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	f, err := os.OpenFile(g.callsFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	line := append([]byte(nil), raw...)
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	addr := getenv("TEMPORAL_ADDRESS", "127.0.0.1:7233")
	ns := getenv("TEMPORAL_NAMESPACE", "default")
	queue := getenv("GREETER_TASK_QUEUE", "acme-plugins")
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: ns})
	if err != nil {
		log.Fatalf("go-greeter: connect to Temporal at %s: %v", addr, err)
	}
	defer c.Close()
	w := worker.New(c, queue, worker.Options{})
	g := &greeter{callsFile: os.Getenv("GREETER_CALLS_FILE")}
	w.RegisterActivityWithOptions(g.Greet, activity.RegisterOptions{Name: ActionID})
	if err := w.Start(); err != nil {
		log.Fatalf("go-greeter: start worker: %v", err)
	}
	fmt.Printf("go-greeter: serving %s on task queue %s (Temporal %s, namespace %s)\n", ActionID, queue, addr, ns)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	w.Stop()
}
