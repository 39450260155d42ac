package testtools

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/madmin-go/v3"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a running throwaway MinIO server: S3 and STS on one loopback
// endpoint, with a non-root worker user.
type MinIO struct {
	// Endpoint is the S3/STS endpoint, http://127.0.0.1:<port>.
	Endpoint string
	// Region is the region to sign requests for (MinIO accepts any).
	Region string
	// Bucket exists, created by root.
	Bucket string
	// AccessKeyID and SecretAccessKey are the worker user's: not root,
	// with a policy allowing s3:* on Bucket and on buckets whose names
	// start with Bucket + "-" (so create-bucket can be tested), nothing else.
	AccessKeyID     string
	SecretAccessKey string
	// RootUser and RootPassword are the server's root credentials, for
	// checks only a test makes (listing what was written).
	RootUser     string
	RootPassword string
}

// The fixed names of the test server: it listens on loopback only and
// lives as long as one test.
const (
	minioRootUser     = "rigger-root"
	minioRootPassword = "rigger-root-secret-123"
	minioWorker       = "rigger-worker"
	minioWorkerSecret = "rigger-worker-secret-123"
	minioBucket       = "rigger-test"
)

// StartMinIO builds (once per machine) and starts MinIO on a free
// 127.0.0.1 port with a temp data dir, waits until it is ready, creates
// the test bucket and the worker user with its policy, and stops the
// server when t ends.
func StartMinIO(t testing.TB) MinIO {
	t.Helper()
	bin := Binary(t, "minio")
	dir := t.TempDir()
	start := time.Now()
	var (
		srv *minioProc
		err error
	)
	// A free port may be taken before MinIO binds it (other test
	// processes start servers too): start again on another.
	for attempt := 1; attempt <= 3; attempt++ {
		srv, err = startMinIO(bin, filepath.Join(dir, fmt.Sprint("data", attempt)))
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start minio: %v", err)
	}
	t.Cleanup(srv.stop)
	t.Logf("minio ready at http://%s in %s", srv.addr, time.Since(start).Round(time.Millisecond))
	m := MinIO{
		Endpoint: "http://" + srv.addr, Region: "us-east-1", Bucket: minioBucket,
		AccessKeyID: minioWorker, SecretAccessKey: minioWorkerSecret,
		RootUser: minioRootUser, RootPassword: minioRootPassword,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.setUp(ctx, srv.addr); err != nil {
		t.Fatalf("set up minio: %v\nserver log:\n%s", err, srv.logTail())
	}
	return m
}

// S3 returns an S3 client for keys (session token optional) on m.
func (m MinIO) S3(accessKeyID, secretAccessKey, sessionToken string) *s3.Client {
	cfg := aws.Config{Region: m.Region, Credentials: awscreds.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, sessionToken)}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(m.Endpoint)
		o.UsePathStyle = true
	})
}

func (m MinIO) setUp(ctx context.Context, hostPort string) error {
	if _, err := m.S3(m.RootUser, m.RootPassword, "").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(m.Bucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", m.Bucket, err)
	}
	adm, err := madmin.NewWithOptions(hostPort, &madmin.Options{Creds: miniocreds.NewStaticV4(m.RootUser, m.RootPassword, "")})
	if err != nil {
		return err
	}
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect": "Allow",
			"Action": []string{"s3:*"},
			"Resource": []string{
				"arn:aws:s3:::" + m.Bucket, "arn:aws:s3:::" + m.Bucket + "/*",
				"arn:aws:s3:::" + m.Bucket + "-*", "arn:aws:s3:::" + m.Bucket + "-*/*",
			},
		}},
	})
	if err != nil {
		return err
	}
	if err := adm.AddCannedPolicy(ctx, minioWorker, policy); err != nil {
		return fmt.Errorf("add policy: %w", err)
	}
	if err := adm.AddUser(ctx, m.AccessKeyID, m.SecretAccessKey); err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	// MinIO loads a new policy into its IAM cache asynchronously: for a
	// moment after AddCannedPolicy it may answer "canned policy does not
	// exist". Poll until it attaches; under load the first add was seen
	// never to arrive (CI, 15 s), so each second the policy is added
	// again (adding the same policy is idempotent).
	deadline := time.Now().Add(30 * time.Second)
	for i := 1; ; i++ {
		_, err := adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{minioWorker}, User: m.AccessKeyID})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("attach policy: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
		if i%10 == 0 {
			if err := adm.AddCannedPolicy(ctx, minioWorker, policy); err != nil {
				return fmt.Errorf("add policy again: %w", err)
			}
		}
	}
}

// minioProc is one started server.
type minioProc struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
	procLog
}

// procLog keeps a started server's output (up to 4 MiB: newProcLog) for
// error messages: it is the process's stdout and stderr.
type procLog struct{ SyncBuffer }

func newProcLog() procLog { return procLog{SyncBuffer{Max: 4 << 20}} }

// logTail is the log's last 30 lines, each cut at 300 bytes (Temporal
// logs a stack trace with every error).
func (p *procLog) logTail() string {
	lines := strings.Split(lastLines(p.String(), 30), "\n")
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

func startMinIO(bin, data string) (*minioProc, error) {
	api, err := freePort()
	if err != nil {
		return nil, err
	}
	console, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	p := &minioProc{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(api)), done: make(chan struct{}), procLog: newProcLog()}
	p.cmd = exec.Command(bin, "server", data, "--address", p.addr,
		"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(console)))
	// Only what it needs: not the test's environment (AWS_* variables
	// there must not change what MinIO does).
	p.cmd.Env = []string{
		"PATH=/usr/bin:/bin", "HOME=" + filepath.Dir(data),
		"MINIO_ROOT_USER=" + minioRootUser, "MINIO_ROOT_PASSWORD=" + minioRootPassword,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off",
	}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	// The server dies with the test process even if cleanup never runs.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	ready := "http://" + p.addr + "/minio/health/ready"
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("minio exited before it was ready: %s\n%s", p.cmd.ProcessState, p.logTail())
		default:
		}
		if resp, err := client.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("minio not ready at %s after 60s\n%s", ready, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *minioProc) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
