package testtools

import "testing"

// TestSyncBufferMax: a bounded buffer keeps writes until it holds Max
// bytes, then drops the rest while reporting them written (a process
// writing to it must not fail); an unbounded one keeps everything.
func TestSyncBufferMax(t *testing.T) {
	bounded, all := &SyncBuffer{Max: 5}, &SyncBuffer{}
	for _, w := range []string{"abc", "def", "ghi"} {
		for _, b := range []*SyncBuffer{bounded, all} {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
	}
	if got := bounded.String(); got != "abcdef" {
		t.Errorf("bounded kept %q, want abcdef", got)
	}
	if got := all.String(); got != "abcdefghi" {
		t.Errorf("unbounded kept %q", got)
	}
}
