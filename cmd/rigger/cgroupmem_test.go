package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCgroupMemoryLimit: the heap floor is capped by the memory limit
// of the process's cgroup, read from v2's memory.max of its own group,
// else of the root, else v1's memory.limit_in_bytes; "max", v1's
// "unlimited" and unreadable files are no limit.
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
	for _, c := range []struct {
		name  string
		self  string            // /proc/self/cgroup
		files map[string]string // under the cgroup root
		want  uint64
		ok    bool
	}{
		{"v2 own group", "0::/system.slice/rigger.service\n", map[string]string{
			"system.slice/rigger.service/memory.max": "134217728\n", "memory.max": "999999999\n"}, 128 << 20, true},
		{"v2 own group unlimited", "0::/system.slice/rigger.service\n", map[string]string{
			"system.slice/rigger.service/memory.max": "max\n", "memory.max": "134217728\n"}, 0, false},
		{"v2 container namespace", "0::/\n", map[string]string{"memory.max": "268435456\n"}, 256 << 20, true},
		{"v1 limited", "12:memory:/docker/abc\n", map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, 512 << 20, true},
		{"v1 unlimited", "12:memory:/\n", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"garbage", "0::/\n", map[string]string{"memory.max": "lots\n"}, 0, false},
		{"a path that climbs out stays under the root", "0::/../../etc\n", map[string]string{"etc/memory.max": "1048576\n"}, 1 << 20, true},
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
