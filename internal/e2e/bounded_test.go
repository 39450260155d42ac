package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDryRunBodiesBoundedMemory: ten concurrent ~46 MB dry-run bodies do
// not each get parsed: a request takes a dry-run slot before its body is
// read (the others get 503 at once) and the body is decoded as a stream.
// The bodies add at most 150 MiB to the server's peak RSS (VmHWM); before
// the bound, ten such bodies took it from 138 to 1,392 MiB.
func TestDryRunBodiesBoundedMemory(t *testing.T) {
	needBinary(t)
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Fatal("this test reads /proc/<pid>/status (Linux)")
	}
	p := startDev(t, t.TempDir(), freePorts(t))
	pid := p.cmd.Process.Pid
	idle := rssMiB(t, pid, "VmHWM")

	data := make([]byte, 34<<20) // 34 MiB, ~45.3 MiB as base64
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.WriteString(`{"template":{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"big"},` +
		`"spec":{"type":"x","steps":[{"id":"a","action":"debug:log","input":{"message":"hi"}}]}},"values":{},` +
		`"directoryContents":[{"path":"template.yaml","base64Content":"YQ=="},{"path":"big.bin","base64Content":"`)
	body.WriteString(base64.StdEncoding.EncodeToString(data))
	body.WriteString(`"}]}`)
	raw := body.Bytes()
	data = nil
	t.Logf("body: %.1f MiB", float64(len(raw))/(1<<20))

	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", p.api+"/api/scaffolder/v2/dry-run", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil { // a refused request may be cut while its body is sent
				codes[i] = -1
				return
			}
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			codes[i] = resp.StatusCode
			if resp.StatusCode == http.StatusBadRequest && !strings.Contains(string(msg), "more than 2000 files or") {
				t.Errorf("status %d: %s", resp.StatusCode, msg)
			}
		}()
	}
	wg.Wait()
	ok, busy := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK, http.StatusBadRequest: // read and decoded; 34 MiB of files is over the dry run's 32
			ok++
		case http.StatusServiceUnavailable, -1:
			busy++
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if ok == 0 {
		t.Fatalf("no dry-run body was read (%v): the measurement would mean nothing", codes)
	}
	peak := rssMiB(t, pid, "VmHWM")
	t.Logf("rigger dev VmHWM: idle %.0f MiB, after 10 concurrent %.0f MiB bodies %.0f MiB (%d read, %d busy); VmRSS now %.0f MiB",
		idle, float64(len(raw))/(1<<20), peak, ok, busy, rssMiB(t, pid, "VmRSS"))
	// What the bodies may add: one is read at a time, decoded once. (The
	// idle figure grows with the binary and is benchmarked, not bounded
	// here.)
	if peak-idle > 150 {
		t.Errorf("the bodies took the peak RSS from %.0f to %.0f MiB (+%.0f), want at most +150 MiB", idle, peak, peak-idle)
	}
}

// TestDryRunValuesBounded: a ~46 MB dry-run body whose values is one
// array of 23 million elements is refused with a 400 naming values, and
// the server's peak RSS stays bounded: values, secrets and template are
// bounded while read, only directoryContents gets the large allowance
// (before, such a body took the server from 195 MB to 2.46 GB).
func TestDryRunValuesBounded(t *testing.T) {
	needBinary(t)
	p := startDev(t, t.TempDir(), freePorts(t))
	pid := p.cmd.Process.Pid
	idle := rssMiB(t, pid, "VmHWM")

	pr, pw := io.Pipe()
	go func() {
		// Written as it is sent: the test holds no copy of the body.
		_, err := io.WriteString(pw, `{"template":{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"v"},"spec":{"type":"x","steps":[]}},"values":{"a":[0`)
		chunk := []byte(strings.Repeat(",0", 32<<10))
		for i := 0; err == nil && i < 23_000_000/(32<<10); i++ {
			_, err = pw.Write(chunk)
		}
		if err == nil {
			_, err = io.WriteString(pw, `]}}`)
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", p.api+"/api/scaffolder/v2/dry-run", pr)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "values") || !strings.Contains(string(msg), "limit") {
		t.Fatalf("status %d: %s", resp.StatusCode, msg)
	}
	peak := rssMiB(t, pid, "VmHWM")
	t.Logf("rigger dev VmHWM: idle %.0f MiB, after a 46 MB values body %.0f MiB; answer: %s", idle, peak, msg)
	if peak > idle+64 {
		t.Errorf("peak RSS %.0f MiB, idle %.0f MiB: the body's values were held", peak, idle)
	}
}
