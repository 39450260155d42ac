package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/riggerdev/rigger/internal/netguard"
)

// GitSource says where git locations may be cloned from.
type GitSource struct {
	// Policy limits https remotes (hosts, and the addresses they resolve to).
	Policy netguard.Policy
	// AllowLocal allows file:// and plain-path remotes (dev and static
	// locations only: otherwise anyone could read repositories on the host).
	AllowLocal bool
}

// SplitGitTarget splits "repo-url#path/in/repo" (path defaults to
// catalog-info.yaml).
func SplitGitTarget(target string) (repo, file string) {
	repo, file, _ = strings.Cut(target, "#")
	if file == "" {
		file = "catalog-info.yaml"
	}
	return repo, file
}

// checkRemote refuses remotes the policy does not allow. For https it also
// resolves the host and checks every address, and returns the address git
// must connect to (host:port:ip for http.curloptResolve): git dials by
// itself, and a second lookup of its own could answer differently (DNS
// rebinding). Redirects are disabled for the clone.
func (g GitSource) checkRemote(ctx context.Context, remote string) (local bool, pin string, err error) {
	if strings.HasPrefix(remote, "/") || strings.HasPrefix(remote, "file://") {
		if !g.AllowLocal {
			return false, "", fmt.Errorf("git remote %s: local repositories are only allowed for locations in rigger.yaml or in rigger dev", remote)
		}
		return true, "", nil
	}
	u, err := url.Parse(remote)
	if err != nil || u.Scheme != "https" {
		return false, "", fmt.Errorf("git remote %q: only https remotes are allowed", remote)
	}
	if err := g.Policy.CheckURL(u); err != nil {
		return false, "", err
	}
	resolver := g.Policy.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	addrs, err := resolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil || len(addrs) == 0 {
		// Perhaps the network: retryable, as a failed clone is. The
		// resolver's own error (its address) is not part of the message.
		return false, "", fmt.Errorf("%w %s: cannot resolve %s", errCloneFailed, remote, u.Hostname())
	}
	for _, a := range addrs {
		if err := g.Policy.AddrRefusal(remote, a); err != nil {
			return false, "", err
		}
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	ip := addrs[0].Unmap().String()
	if addrs[0].Unmap().Is6() {
		ip = "[" + ip + "]"
	}
	return false, u.Hostname() + ":" + port + ":" + ip, nil
}

// gitCommand builds the clone command: shallow, no tags, no prompts, no
// system or user config, redirects off, only the protocols allowed, the
// host pinned to the address checked (pin, "" for local remotes), a stall
// (under 1 KB/s for 30 s) fails, and an environment holding nothing of
// rigger's. It runs in its own process group, killed as a whole when ctx
// ends (git's https helper would otherwise outlive it).
func gitCommand(ctx context.Context, remote, branch, dir, pin string, local bool) *exec.Cmd {
	args := []string{
		"-c", "protocol.allow=never", "-c", "protocol.https.allow=always",
		"-c", "http.followRedirects=false", "-c", "core.symlinks=false",
		"-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30",
	}
	if pin != "" {
		args = append(args, "-c", "http.curloptResolve="+pin)
	}
	if local {
		args = append(args, "-c", "protocol.file.allow=always")
	}
	args = append(args, "clone", "--quiet", "--depth", "1", "--no-tags", "--single-branch")
	if branch != "" {
		args = append(args, "--branch", branch)
	}
	args = append(args, "--", remote, dir)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir + ".home",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ASKPASS=/bin/false",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// tailWriter keeps the last max bytes written to it (git's error text: the
// remote's own messages are in it, so it is bounded and printable only).
type tailWriter struct {
	b   []byte
	max int
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = w.b[len(w.b)-w.max:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || unicode.IsPrint(r) {
			return r
		}
		return -1
	}, string(w.b)))
}

// errCloneFailed marks a clone that git itself failed (the network, a
// missing repository or branch), as opposed to one the policy refused: it
// may succeed when tried again.
var errCloneFailed = errors.New("git clone")

// clone makes a shallow clone of remote (its default branch, or branch)
// into a new temp dir and opens it as an os.Root, so no path read from the
// repository can leave it.
func (g GitSource) clone(ctx context.Context, remote, branch string) (*os.Root, func(), error) {
	if strings.HasPrefix(branch, "-") {
		return nil, nil, fmt.Errorf("git remote %s: bad branch %q", remote, branch)
	}
	local, pin, err := g.checkRemote(ctx, remote)
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "rigger-git-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	dir := tmp + "/repo"
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := gitCommand(ctx, remote, branch, dir, pin, local)
	stderr := &tailWriter{max: 4 << 10}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("%w %s: %v: %s", errCloneFailed, remote, err, stderr.String())
	}
	// Only the files are read: .git (the remote's config, objects, sample
	// hooks) must never reach a workspace as part of a skeleton.
	if err := os.RemoveAll(dir + "/.git"); err != nil {
		cleanup()
		return nil, nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return root, func() { root.Close(); cleanup() }, nil
}

// readRoot reads the files matching pattern inside root (a glob relative to
// the repository), refusing anything that would leave it.
func readRoot(root *os.Root, label, pattern string, maxBytes int64) ([]file, error) {
	pattern = strings.TrimPrefix(path.Clean("/"+pattern), "/")
	matches, err := fs.Glob(root.FS(), pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: bad path %q: %v", label, pattern, err)
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("%s: no file %s in the repository", label, pattern)
	}
	var out []file
	for _, m := range matches {
		f, err := root.Open(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", label, m, err)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", label, m, err)
		}
		if int64(len(data)) > maxBytes {
			return nil, fmt.Errorf("%s: %s: file is larger than %d bytes", label, m, maxBytes)
		}
		out = append(out, file{name: label + "#" + m, data: data})
	}
	return out, nil
}
