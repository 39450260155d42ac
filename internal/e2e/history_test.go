package e2e

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riggerdev/rigger/internal/payloadcodec"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/workflows"
)

var (
	recordHistories = flag.Bool("record-histories", false, "run scaffolder tasks on the real stack and save their histories to workflows/testdata for the replay test")
	// An older build's histories are recorded with RIGGER_BIN set to its
	// binary and this flag set to the name of its shape.
	recordAs = flag.String("record-as", historyName, "the workflow shape the recorded histories are named after (-record-histories)")
)

const replayTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: replay}
spec:
  type: service
  parameters:
    - properties:
        envs: {type: array, items: {type: string}, default: [dev, prod]}
  steps:
    - {id: write, name: Write, action: fs:write, input: {path: a.txt, content: "${{ parameters.envs | join(',') }}"}}
    - {id: skip, name: Skip, action: debug:log, if: "${{ parameters.envs | length > 5 }}", input: {message: never}}
    - {id: each, name: Each, action: debug:log, each: "${{ parameters.envs }}", input: {message: "env ${{ each.value }}"}}
    - {id: fetch, name: Fetch, action: catalog:fetch, input: {entityRef: "component:default/none", optional: true}}
    - {id: wait, name: Wait, action: debug:wait, input: {milliseconds: 200}}
    - {id: show, name: Show, action: debug:log, input: {message: "${{ steps.write.output | dump }}", listWorkspace: true}}
  output:
    text: [{title: done, content: "${{ parameters.envs[0] }}"}]
`

// historyName names the recording of the current workflow shape; bump it
// when Scaffold changes shape (behind workflow.GetVersion).
const historyName = "v6_one_version"

// TestRecordScaffoldHistory runs a task on the real stack and replays its
// history with this package's workflow code: the binary and the code agree
// on the workflow's shape. With -record-histories it also saves the history
// to workflows/testdata, where workflows/replay_test.go replays it on every
// test run, so a later change to Scaffold that breaks running workflows
// fails CI.
func TestRecordScaffoldHistory(t *testing.T) {
	needBinary(t)
	d := startRecordingDev(t, replayTemplate, 1)
	var c struct{ ID string }
	if code := doJSON(t, "POST", d.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/replay"}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if tr := waitTask(t, d.api, c.ID); tr.Status != "completed" {
		t.Fatalf("task: %+v", tr)
	}
	h := taskHistory(t, d.frontend, c.ID, nil)
	replayHistory(t, d.codec, h, filepath.Join(t.TempDir(), "history.json"))
	recordHistory(t, d.codec, h, *recordAs)
}

// recordingDev is a rigger dev that history recordings run tasks on.
type recordingDev struct {
	api      string
	frontend int
	codec    *payloadcodec.Codec
}

// startRecordingDev starts a rigger dev whose catalog holds the templates
// in templatesYAML (n of them), and waits until it lists them.
func startRecordingDev(t *testing.T, templatesYAML string, n int) recordingDev {
	t.Helper()
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates.yaml")
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(tpl, []byte(templatesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s}\n", tpl)), 0o600); err != nil {
		t.Fatal(err)
	}
	ps := freePorts(t)
	p := start(t, dir, cleanEnv(), "dev", "--config", cfg, "--data-dir", filepath.Join(dir, "data"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)
	waitTotal(t, p.api, "kind=template", n)
	return recordingDev{api: p.api, frontend: ps.frontend, codec: devCodec(t, filepath.Join(dir, "data"))}
}

// replayTask saves the history of task id, run by the rigger dev with
// Temporal on frontend and payload codec codec, to out, and replays it
// with this package's workflow code.
func replayTask(t testing.TB, frontend int, codec *payloadcodec.Codec, id, out string) {
	t.Helper()
	replayHistory(t, codec, taskHistory(t, frontend, id, nil), out)
}

// taskHistory reads the history of task id from the Temporal on frontend,
// again until ready (if not nil) accepts it.
func taskHistory(t testing.TB, frontend int, id string, ready func(*historypb.History) bool) *historypb.History {
	t.Helper()
	tc, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", frontend), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var h historypb.History
		it := tc.GetWorkflowHistory(context.Background(), id, "", false, 0)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, e)
		}
		if ready == nil || ready(&h) {
			return &h
		}
		if time.Now().After(deadline) {
			t.Fatalf("the history of %s never got where the test wants it: %d events", id, len(h.Events))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replayHistory saves h as it is to out and replays it with this
// package's workflow code, decrypting its payloads with codec as rigger
// dev does.
func replayHistory(t testing.TB, codec *payloadcodec.Codec, h *historypb.History, out string) {
	t.Helper()
	raw, err := protojson.MarshalOptions{Indent: " "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter: payloadcodec.DataConverter(codec), FailureConverter: payloadcodec.FailureConverter(codec)})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterWorkflowWithOptions(workflows.Scaffold, workflow.RegisterOptions{Name: workflows.ScaffoldName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, out); err != nil {
		t.Fatalf("the history of a real run does not replay with this code: %v", err)
	}
}

// recordHistory, with -record-histories, saves h to workflows/testdata as
// scaffold_history_<name>.json with its payloads decrypted (search
// attributes are not encrypted), so that the replay test there needs no
// key. It changes h.
func recordHistory(t testing.TB, codec *payloadcodec.Codec, h *historypb.History, name string) {
	t.Helper()
	if !*recordHistories {
		return
	}
	err := proxy.VisitPayloads(context.Background(), h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Decode(p)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := protojson.MarshalOptions{Indent: " "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	// Each recording is kept: histories of older shapes must keep replaying.
	if err := os.WriteFile("../../workflows/testdata/scaffold_history_"+name+".json", raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// devCodec is the payload codec of the rigger dev whose data directory is
// data: the key derived from its key file.
func devCodec(t testing.TB, data string) *payloadcodec.Codec {
	t.Helper()
	secret, err := secretbox.LoadOrCreateKeyFile(filepath.Join(data, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := payloadcodec.DeriveFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := payloadcodec.New(key.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

// midLoopTemplates are runs that stop in the middle of the step loop:
// one on a timer (debug:wait), one on a person (rigger:approval). Their
// histories, recorded while they wait, are what a worker of a newer
// build has to continue.
const midLoopTemplates = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: mid-wait}
spec:
  type: service
  steps:
    - {id: write, name: Write, action: fs:write, input: {path: a.txt, content: before the wait}}
    - {id: wait, name: Wait, action: debug:wait, input: {minutes: 60}}
    - {id: show, name: Show, action: debug:log, input: {message: after the wait, listWorkspace: true}}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: mid-approval}
spec:
  owner: group:default/platform
  type: service
  steps:
    - {id: before, name: Before, action: debug:log, input: {message: before the approval}}
    - {id: gate, name: Gate, action: rigger:approval, input: {message: "Go on?", timeout: 48h}}
    - {id: after, name: After, action: debug:log, input: {message: after the approval}}
`

// TestRecordScaffoldHistoryMidLoop starts tasks that wait in the middle
// of the step loop and replays their histories, as they are while the
// tasks wait, with this package's workflow code. With -record-histories
// (and -record-as, RIGGER_BIN naming an older build) it saves them to
// workflows/testdata: the replay test then shows that a worker of this
// build continues the older build's runs.
func TestRecordScaffoldHistoryMidLoop(t *testing.T) {
	needBinary(t)
	d := startRecordingDev(t, midLoopTemplates, 2)
	for _, c := range []struct{ template, step string }{{"mid-wait", "wait"}, {"mid-approval", "gate"}} {
		t.Run(c.template, func(t *testing.T) {
			var created struct{ ID string }
			if code := doJSON(t, "POST", d.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/" + c.template}, &created); code != http.StatusCreated {
				t.Fatalf("create: %d", code)
			}
			// It rests on a timer: its wait, or its approval's deadline.
			h := taskHistory(t, d.frontend, created.ID, func(h *historypb.History) bool {
				n := len(h.Events)
				return n > 0 && h.Events[n-1].GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED
			})
			replayHistory(t, d.codec, h, filepath.Join(t.TempDir(), "history.json"))
			recordHistory(t, d.codec, h, *recordAs+"_"+strings.ReplaceAll(c.template, "-", "_"))
		})
	}
}
