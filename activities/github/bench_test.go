package github

import (
	"fmt"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
)

// BenchmarkPublish measures publish:github end to end against the fake
// (installation lookups, three token mints, repository creation, topics,
// a push of five files through git http-backend, protection), one new
// repository per iteration.
func BenchmarkPublish(b *testing.B) {
	f := newFixture(b)
	writeFiles(b, f.ws, workspaceFiles)
	b.ResetTimer()
	for i := range b.N {
		in := publishInput()
		in["repoUrl"] = fmt.Sprintf("github.com?owner=acme&repo=bench-%d", i)
		if _, err := f.actions[ActionPublish](f.ctx(false), contract.ActionInput{StepID: "s", Input: in}); err != nil {
			b.Fatal(err)
		}
	}
}
