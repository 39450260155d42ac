package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCgroupMemoryLimit: the heap floor is capped by the smallest memory
// limit set at any level from the process's cgroup up to the root, in v2
// (memory.max) and in v1's memory hierarchy (memory.limit_in_bytes);
// "max", v1's "unlimited" and unreadable files are no limit.
func TestCgroupMemoryLimit(t *testing.T) {
	write := func(t *testing.T, path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const mib = 1 << 20
	for _, c := range []struct {
		name  string
		self  string            // /proc/self/cgroup
		files map[string]string // under the cgroup root
		want  uint64
		ok    bool
	}{
		{"v2 own group", "0::/system.slice/rigger.service\n", map[string]string{
			"system.slice/rigger.service/memory.max": "134217728\n", "memory.max": "999999999\n"}, 128 * mib, true},
		{"v2 limit on a parent only", "0::/system.slice/rigger.service\n", map[string]string{
			"system.slice/rigger.service/memory.max": "max\n", "system.slice/memory.max": "268435456\n"}, 256 * mib, true},
		{"v2 own limit above a parent's", "0::/system.slice/rigger.service\n", map[string]string{
			"system.slice/rigger.service/memory.max": "536870912\n", "system.slice/memory.max": "268435456\n"}, 256 * mib, true},
		{"v2 unlimited at every level", "0::/system.slice/rigger.service\n", map[string]string{
			"system.slice/rigger.service/memory.max": "max\n", "system.slice/memory.max": "max\n"}, 0, false},
		{"v2 container namespace", "0::/\n", map[string]string{"memory.max": "268435456\n"}, 256 * mib, true},
		{"v2 own group not mounted: the root's", "0::/kubepods/pod1/c1\n", map[string]string{"memory.max": "268435456\n"}, 256 * mib, true},
		{"v1 own group", "5:memory,hugetlb:/system.slice/x.service\n1:name=systemd:/system.slice/x.service\n", map[string]string{
			"memory/system.slice/x.service/memory.limit_in_bytes": "536870912\n", "memory/memory.limit_in_bytes": "9223372036854771712\n"}, 512 * mib, true},
		{"v1 container mount", "12:memory:/docker/abc\n", map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, 512 * mib, true},
		{"v1 unlimited", "12:memory:/\n", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"hybrid: v1's memory limit", "0::/user.slice\n12:memory:/user.slice\n", map[string]string{
			"unified/user.slice/memory.max": "1048576\n", "memory/user.slice/memory.limit_in_bytes": "314572800\n"}, 300 * mib, true},
		{"garbage at one level, a limit at another", "0::/a\n", map[string]string{"a/memory.max": "lots\n", "memory.max": "268435456\n"}, 256 * mib, true},
		{"a path that climbs out is not followed", "0::/../../etc\n", map[string]string{"etc/memory.max": "1048576\n"}, 0, false},
		{"nothing readable", "", nil, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			self := filepath.Join(dir, "self-cgroup")
			write(t, self, c.self)
			root := filepath.Join(dir, "cgroup")
			for f, body := range c.files {
				write(t, filepath.Join(root, f), body)
			}
			got, ok := cgroupMemoryLimit(self, root)
			if got != c.want || ok != c.ok {
				t.Fatalf("limit %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// TestHeapHeadroom: the floor is a quarter of a small memory limit at
// most, and untouched by a large one or none.
func TestHeapHeadroom(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		m       mode
		limit   uint64
		limited bool
		want    uint64
		lowered bool
	}{
		{modeServer, 0, false, serverHeapHeadroom, false},
		{modeDev, 0, false, devHeapHeadroom, false},
		{modeServer, 1024 * mib, true, serverHeapHeadroom, false},
		{modeServer, 128 * mib, true, 32 * mib, true},
		{modeDev, 256 * mib, true, 64 * mib, true},
		{modeDev, 512 * mib, true, devHeapHeadroom, false},
	} {
		got, lowered := heapHeadroom(c.m, c.limit, c.limited)
		if got != c.want || lowered != c.lowered {
			t.Errorf("%s under %d MiB (%v): %d MiB, lowered %v; want %d MiB, %v", c.m, c.limit/mib, c.limited, got/mib, lowered, c.want/mib, c.lowered)
		}
	}
}
