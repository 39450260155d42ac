package terraform

import (
	"slices"
	"testing"
)

// TestSandboxSpecNetwork: terraform keeps the network only when the step
// needs it (an AWS session, a network mirror, registry downloads without
// a mirror); a filesystem mirror is readable, never writable.
func TestSandboxSpecNetwork(t *testing.T) {
	w := &workdir{abs: "/ws/task/infra", private: "/tmp/rigger-terraform-1"}
	for _, c := range []struct {
		name    string
		cfg     Config
		withAWS bool
		network bool
	}{
		{"no providers", Config{}, false, false},
		{"filesystem mirror", Config{PluginMirror: "/srv/mirror"}, false, false},
		{"filesystem mirror, downloads allowed", Config{PluginMirror: "/srv/mirror", AllowDownloads: true}, false, false},
		{"AWS session", Config{PluginMirror: "/srv/mirror"}, true, true},
		{"network mirror", Config{PluginMirror: "https://mirror.example.com/"}, false, true},
		{"downloads", Config{AllowDownloads: true}, false, true},
	} {
		s := (&service{cfg: c.cfg, bin: "/usr/bin/terraform"}).spec("/ws/task", w, c.withAWS)
		if s.Network != c.network {
			t.Errorf("%s: network %v, want %v", c.name, s.Network, c.network)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		mirrored := slices.Contains(s.ReadOnly, "/srv/mirror")
		if mirrored != (c.cfg.PluginMirror == "/srv/mirror") || slices.Contains(s.Writable, "/srv/mirror") {
			t.Errorf("%s: read-only %v, writable %v", c.name, s.ReadOnly, s.Writable)
		}
		if !slices.Equal(s.Writable, []string{"/ws/task", "/tmp/rigger-terraform-1/home", "/tmp/rigger-terraform-1/tmp"}) || s.Dir != w.abs {
			t.Errorf("%s: dir %s, writable %v", c.name, s.Dir, s.Writable)
		}
	}
}
