package binpages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// written lives in the executable's writable data; the test writes it
// before Release, which must keep the process's copy.
var written = [2048]int64{1}

// residentOf sums the RSS (kB) of the executable's read-only mappings.
func residentOf(t *testing.T) (readonly int) {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	dev, ino, err := fileAt(bytes.NewReader(smaps), reflect.ValueOf(residentOf).Pointer())
	if err != nil {
		t.Fatal(err)
	}
	mine, w := false, false
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			n, _ := strconv.ParseUint(fields[4], 10, 64)
			mine, w = fields[3] == dev && n == ino, strings.Contains(fields[1], "w")
			continue
		}
		if mine && len(fields) > 1 && fields[0] == "Rss:" {
			if kb, _ := strconv.Atoi(fields[1]); !w {
				readonly += kb
			}
		}
	}
	return readonly
}

// TestReleaseUnmapsReadonlyPages: after Release the executable's
// read-only mappings hold fewer resident pages, the program runs on (its
// code is mapped back as it runs), and what it wrote to its data is kept.
func TestReleaseUnmapsReadonlyPages(t *testing.T) {
	for i := range written {
		written[i] = int64(i) * 7
	}
	before := residentOf(t)
	n, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := residentOf(t)
	if n == 0 || after >= before {
		t.Fatalf("released %d bytes of mappings; read-only RSS %d kB -> %d kB, want less", n, before, after)
	}
	for i, v := range written {
		if v != int64(i)*7 {
			t.Fatalf("written[%d] is %d after Release, want %d", i, v, i*7)
		}
	}
	t.Logf("read-only RSS %d kB -> %d kB (%d bytes of mappings released)", before, after, n)
}

// TestReadonlyOfSkipsOwnPages: a read-only private mapping of the file
// that holds pages of its own (RELRO after relocations), in memory or
// swapped out, is not released,
// nor a shared, writable or another file's mapping.
func TestReadonlyOfSkipsOwnPages(t *testing.T) {
	smaps := `00400000-00500000 r-xp 00000000 fe:00 42 /bin/rigger
Rss:                 400 kB
Anonymous:             0 kB
00500000-00600000 r--p 00100000 fe:00 42 /bin/rigger
Rss:                 100 kB
Anonymous:             8 kB
00580000-00590000 r--p 00180000 fe:00 42 /bin/rigger
Rss:                   0 kB
Anonymous:             0 kB
Swap:                  4 kB
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

// TestFileAt: the file mapped at an address is the one whose range holds
// it; an anonymous mapping there is an error.
func TestFileAt(t *testing.T) {
	smaps := `00400000-00500000 r-xp 00000000 fe:00 42 /bin/rigger
Rss:                 400 kB
00600000-00700000 rw-p 00000000 00:00 0
`
	if dev, ino, err := fileAt(strings.NewReader(smaps), 0x4fffff); err != nil || dev != "fe:00" || ino != 42 {
		t.Fatalf("fileAt(0x4fffff) = %q %d %v", dev, ino, err)
	}
	if _, _, err := fileAt(strings.NewReader(smaps), 0x600010); err == nil {
		t.Fatal("an anonymous mapping is no file's")
	}
	if _, _, err := fileAt(strings.NewReader(smaps), 0x500000); err == nil {
		t.Fatal("0x500000 is past the first mapping")
	}
}
