package tasks

import (
	"reflect"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
)

// TestRetryEnt: a retry acts with the ownership that holds now, never
// the groups the first run was signed with.
func TestRetryEnt(t *testing.T) {
	alice := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-b"}}
	if got := retryEnt(alice, "user:default/Alice"); !reflect.DeepEqual(got, alice.Ent) {
		t.Errorf("retried by its user: %v", got)
	}
	admin := auth.Identity{Ref: "user:default/root", Ent: []string{"user:default/root", "group:default/admins"}}
	if got := retryEnt(admin, "user:default/alice"); !reflect.DeepEqual(got, []string{"user:default/alice"}) {
		t.Errorf("retried by an admin: %v (want the user's own ref only)", got)
	}
}
