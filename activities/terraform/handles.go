package terraform

import (
	"os"
	"slices"
	"sync"
	"syscall"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// terraform-exec runs `terraform version -json` before the first command
// of every *tfexec.Terraform (to check flags against the version) and
// keeps the answer in that handle only; the process costs as much CPU as
// any other terraform command (terraform's start-up is most of each).
// A new handle per action made that one extra terraform process in every
// action. handles keeps idle handles for reuse instead, so the check runs
// once per terraform binary when terraform goes through the sandbox (the
// helper changes to the spec's directory, so one handle serves every
// directory), and once per directory when it does not (the handle's
// working directory is terraform's).
//
// A handle is reused only for the same binary file: the key holds the
// binary's device, inode, size, modification and change times, so a
// binary replaced, rewritten or touched gets a new handle and a new
// version check. Between actions a handle holds no environment (no
// step's credentials) and no output writers.

// maxIdleHandles bounds the idle handles kept (the oldest go first).
const maxIdleHandles = 64

// handleKey says which handles are interchangeable.
type handleKey struct {
	// exe is what terraform-exec starts: terraform, or the sandbox helper
	// in its place.
	exe string
	// dir is the handle's working directory: the step's directory, or ""
	// for a sandboxed handle (the helper changes to the spec's Dir).
	dir string
	// bin is the terraform binary the version check ran.
	bin binaryID
}

// binaryID identifies the contents of a binary file without reading it.
type binaryID struct {
	path         string
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
}

// identify stats bin (following links: the version is the target's);
// ok is false when it cannot, and then no handle is reused.
func identify(bin string) (id binaryID, ok bool) {
	fi, err := os.Stat(bin)
	if err != nil {
		return id, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return id, false
	}
	return binaryID{
		path: bin, dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, true
}

// handles is a small pool of idle tfexec handles; safe for concurrent
// use. An action takes a handle for its whole run (no two actions share
// one) and puts it back when done.
type handles struct {
	mu   sync.Mutex
	idle []idleHandle // oldest first
}

type idleHandle struct {
	key handleKey
	tf  *tfexec.Terraform
}

// take removes and returns the newest idle handle for key, or nil.
func (h *handles) take(key handleKey) *tfexec.Terraform {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.idle) - 1; i >= 0; i-- {
		if h.idle[i].key == key {
			tf := h.idle[i].tf
			h.idle = slices.Delete(h.idle, i, i+1)
			return tf
		}
	}
	return nil
}

// put clears tf's environment and output writers and keeps it for key,
// dropping the oldest idle handle when there are too many.
func (h *handles) put(key handleKey, tf *tfexec.Terraform) {
	// An empty map, not nil: nil would give terraform the worker's own
	// environment.
	if err := tf.SetEnv(map[string]string{}); err != nil {
		return
	}
	tf.SetStdout(nil)
	tf.SetStderr(nil)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.idle = append(h.idle, idleHandle{key, tf})
	if over := len(h.idle) - maxIdleHandles; over > 0 {
		h.idle = slices.Delete(h.idle, 0, over)
	}
}
