package binpages

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Release unmaps the executable's read-only pages (see the package
// comment) and returns the size of the mappings it released them from.
func Release() (int64, error) {
	exe, err := os.Stat("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	st, ok := exe.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, errors.New("no device and inode for the executable")
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	maps, err := readonlyOf(f, fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev)), st.Ino)
	f.Close()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, m := range maps {
		// By address (unix.Madvise takes a slice: unsafe to make of one).
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); e != 0 {
			return total, fmt.Errorf("release %x-%x of the executable: %w", m.start, m.end, e)
		}
		total += int64(m.end - m.start)
	}
	return total, nil
}

// mapping is an address range of the process.
type mapping struct{ start, end uintptr }

// readonlyOf returns, from a /proc/<pid>/smaps listing, the private
// mappings of the file dev:ino that are not writable and hold no page of
// their own: a page written before the mapping was made read-only (what a
// loader's relocations leave in RELRO) is an anonymous copy, which
// MADV_DONTNEED would replace with the file's bytes.
func readonlyOf(r io.Reader, dev string, ino uint64) ([]mapping, error) {
	var out []mapping
	var cur *mapping
	own := false
	flush := func() {
		if cur != nil && !own {
			out = append(out, *cur)
		}
		cur, own = nil, false
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if key, ok := strings.CutSuffix(fields[0], ":"); ok && !strings.Contains(fields[0], "-") {
			// A field of the current mapping ("Anonymous:  0 kB").
			// (Private_Dirty counts the file's pages not yet written back
			// too: a binary just built has them.)
			if cur != nil && key == "Anonymous" && len(fields) > 1 && fields[1] != "0" {
				own = true
			}
			continue
		}
		// A mapping's line: start-end perms offset dev inode [path].
		flush()
		if len(fields) < 5 || fields[3] != dev {
			continue
		}
		if n, err := strconv.ParseUint(fields[4], 10, 64); err != nil || n != ino {
			continue
		}
		if perms := fields[1]; len(perms) != 4 || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		cur = &mapping{start: uintptr(start), end: uintptr(end)}
	}
	flush()
	return out, sc.Err()
}
