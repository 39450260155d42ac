package storetest

import (
	"context"
	"testing"
)

// testSettings: a setting reads back as stored, a second put replaces
// it, and a name never stored is reported as absent (not as "").
func testSettings(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	if v, ok, err := s.Setting(ctx, "scaffolder.disabledActions"); err != nil || ok || v != "" {
		t.Fatalf("unset: %q %v %v", v, ok, err)
	}
	for _, v := range []string{`["fs:delete"]`, `[]`} {
		if err := s.PutSetting(ctx, "scaffolder.disabledActions", v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Setting(ctx, "scaffolder.disabledActions"); err != nil || !ok || got != v {
			t.Fatalf("after put %q: %q %v %v", v, got, ok, err)
		}
	}
}
