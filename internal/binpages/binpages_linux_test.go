package binpages

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// written lives in the executable's writable data; the test writes it
// before Release, which must keep the process's copy.
var written = [2048]int64{1}

// residentOf sums the RSS (kB) of the executable's mappings, by whether
// they are writable.
func residentOf(t *testing.T) (readonly, writable int) {
	t.Helper()
	exe, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	st := exe.Sys().(*syscall.Stat_t)
	dev := fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev))
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mine, w := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			ino, _ := strconv.ParseUint(fields[4], 10, 64)
			mine, w = fields[3] == dev && ino == st.Ino, strings.Contains(fields[1], "w")
			continue
		}
		if mine && len(fields) > 1 && fields[0] == "Rss:" {
			kb, _ := strconv.Atoi(fields[1])
			if w {
				writable += kb
			} else {
				readonly += kb
			}
		}
	}
	return readonly, writable
}

// TestReleaseUnmapsReadonlyPages: after Release the executable's
// read-only mappings hold fewer resident pages, the program runs on (its
// code is mapped back as it runs), and what it wrote to its data is kept.
func TestReleaseUnmapsReadonlyPages(t *testing.T) {
	for i := range written {
		written[i] = int64(i) * 7
	}
	before, _ := residentOf(t)
	n, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after, writable := residentOf(t)
	if n == 0 || after >= before {
		t.Fatalf("released %d bytes of mappings; read-only RSS %d kB -> %d kB, want less", n, before, after)
	}
	if writable == 0 {
		t.Fatal("the executable's writable mappings hold no page: did Release drop them?")
	}
	for i, v := range written {
		if v != int64(i)*7 {
			t.Fatalf("written[%d] is %d after Release, want %d", i, v, i*7)
		}
	}
	t.Logf("read-only RSS %d kB -> %d kB (%d bytes of mappings released)", before, after, n)
}

// TestReadonlyOfSkipsOwnPages: a read-only private mapping of the file
// that holds pages of its own (RELRO after relocations) is not released,
// nor a shared, writable or another file's mapping.
func TestReadonlyOfSkipsOwnPages(t *testing.T) {
	smaps := `00400000-00500000 r-xp 00000000 fe:00 42 /bin/rigger
Rss:                 400 kB
Anonymous:             0 kB
00500000-00600000 r--p 00100000 fe:00 42 /bin/rigger
Rss:                 100 kB
Anonymous:             8 kB
00600000-00700000 r--p 00200000 fe:00 42 /bin/rigger
Anonymous:             0 kB
Private_Dirty:         0 kB
00700000-00800000 rw-p 00300000 fe:00 42 /bin/rigger
Anonymous:             0 kB
7f0000000000-7f0000100000 r--s 00000000 fe:00 42 /bin/rigger
Anonymous:             0 kB
7f0000100000-7f0000200000 r--p 00000000 fe:01 42 /other
Anonymous:             0 kB
7f0000200000-7f0000300000 r--p 00000000 fe:00 43 /lib
Anonymous:             0 kB
`
	got, err := readonlyOf(strings.NewReader(smaps), "fe:00", 42)
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x400000, 0x500000}, {0x600000, 0x700000}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("readonlyOf = %x, want %x", got, want)
	}
}
