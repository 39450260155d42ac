package main

import (
	"bytes"
	"strings"
	"testing"
)

const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"    a_test.go:3: chatter\n"}
{"Action":"pass","Package":"p","Test":"TestOK"}
{"Action":"run","Package":"p","Test":"TestPG"}
{"Action":"output","Package":"p","Test":"TestPG","Output":"=== RUN   TestPG\n"}
{"Action":"output","Package":"p","Test":"TestPG","Output":"    pg_test.go:9: LOUD SKIP: postgres not found\n"}
{"Action":"output","Package":"p","Test":"TestPG","Output":"--- SKIP: TestPG (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestPG"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
`

const failing = `{"Action":"run","Package":"q","Test":"TestBad"}
{"Action":"output","Package":"q","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"q","Test":"TestBad","Output":"    q_test.go:5: broken\n"}
{"Action":"output","Package":"q","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"q","Test":"TestBad"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t0.1s\n"}
{"Action":"fail","Package":"q"}
`

// exited is a test binary that exited while TestSlow ran (the embedded
// Temporal server's fatal log calls os.Exit): no test ends, the package fails.
const exited = `{"Action":"run","Package":"r","Test":"TestFast"}
{"Action":"output","Package":"r","Test":"TestFast","Output":"=== RUN   TestFast\n"}
{"Action":"pass","Package":"r","Test":"TestFast"}
{"Action":"run","Package":"r","Test":"TestSlow"}
{"Action":"output","Package":"r","Test":"TestSlow","Output":"=== RUN   TestSlow\n"}
{"Action":"output","Package":"r","Test":"TestSlow","Output":"temporal server: fatal: Failed to start gRPC listener\n"}
{"Action":"output","Package":"r","Output":"FAIL\tr\t16.2s\n"}
{"Action":"fail","Package":"r"}
`

func TestReport(t *testing.T) {
	var out bytes.Buffer
	if code := run(strings.NewReader(stream), &out, false); code != 0 {
		t.Fatalf("exit %d for a passing run with a skip outside CI:\n%s", code, out.String())
	}
	got := out.String()
	for _, want := range []string{"ok  \tp\t0.1s", "Skipped tests (1):", "p TestPG: pg_test.go:9: LOUD SKIP: postgres not found", "\n1 passed, 0 failed, 1 skipped\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "chatter") {
		t.Errorf("a passing test's log is shown:\n%s", got)
	}

	out.Reset()
	if code := run(strings.NewReader(stream), &out, true); code != 1 || !strings.Contains(out.String(), "CI=true") {
		t.Errorf("a skip under CI=true: exit %d\n%s", code, out.String())
	}

	out.Reset()
	if code := run(strings.NewReader(failing), &out, false); code != 1 || !strings.Contains(out.String(), "q_test.go:5: broken") || !strings.Contains(out.String(), "--- FAIL: TestBad") ||
		!strings.HasSuffix(out.String(), "\n0 passed, 1 failed, 0 skipped\n") {
		t.Errorf("a failing test: exit %d\n%s", code, out.String())
	}

	out.Reset()
	if code := run(strings.NewReader(exited), &out, false); code != 1 || !strings.Contains(out.String(), "--- r TestSlow did not finish") ||
		!strings.Contains(out.String(), "fatal: Failed to start gRPC listener") || strings.Contains(out.String(), "TestFast did not finish") ||
		!strings.HasSuffix(out.String(), "\n1 passed, 1 failed, 0 skipped\n") {
		t.Errorf("a test binary that exited mid-test: exit %d\n%s", code, out.String())
	}
}
