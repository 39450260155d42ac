package binpages

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Release unmaps the executable's read-only pages (see the package
// comment) and returns the size of the mappings it released them from.
func Release() (int64, error) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	// The executable is the file mapped where this function's code is:
	// stat of /proc/self/exe may name another device and inode than the
	// mappings do (overlayfs before Linux 6.5, btrfs subvolumes).
	dev, ino, err := fileAt(bytes.NewReader(smaps), reflect.ValueOf(Release).Pointer())
	if err != nil {
		return 0, err
	}
	maps, err := readonlyOf(bytes.NewReader(smaps), dev, ino)
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

// fileAt returns the device and inode of the file mapped at address pc,
// from a /proc/<pid>/smaps (or maps) listing.
func fileAt(r io.Reader, pc uintptr) (dev string, ino uint64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || uint64(pc) < start || uint64(pc) >= end {
			continue
		}
		n, err := strconv.ParseUint(fields[4], 10, 64)
		if err != nil || n == 0 {
			return "", 0, fmt.Errorf("the code at %#x is in no file's mapping: %s", pc, sc.Text())
		}
		return fields[3], n, nil
	}
	if err := sc.Err(); err != nil {
		return "", 0, err
	}
	return "", 0, fmt.Errorf("no mapping holds the code at %#x", pc)
}

// mapping is an address range of the process.
type mapping struct{ start, end uintptr }

// readonlyOf returns, from a /proc/<pid>/smaps listing, the private
// mappings of the file dev:ino that are not writable and hold no page of
// their own: a page written before the mapping was made read-only (what a
// loader's relocations leave in RELRO) is an anonymous copy, in memory or
// swapped out, which MADV_DONTNEED would replace with the file's bytes.
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
			if cur != nil && (key == "Anonymous" || key == "Swap") && len(fields) > 1 && fields[1] != "0" {
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
