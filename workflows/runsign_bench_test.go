package workflows

import (
	"crypto/ed25519"
	"os"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/templates"
)

// BenchmarkRunGrant is what signed runs cost per task, on the Backstage
// peer's 3-step bench template: the API server hashes the input and signs
// it; the workflow hashes the input once; a worker verifies the grant once
// (later activities of the run hit the verifier's cache). Compare with
// make bench's scaffolder (a) per-task time (~100-200 ms).
func BenchmarkRunGrant(b *testing.B) {
	data, err := os.ReadFile("../../shared/peers/backstage/templates/bench-3step.yaml")
	if err != nil {
		b.Fatalf("the bench template: %v", err)
	}
	tpl, err := templates.Parse("bench-3step", data)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := templates.Compile(tpl, map[string]any{"name": "svc"}, contract.NewRegistry(nil), templates.CompileOptions{UserRef: "user:default/guest", BaseURL: "file:///srv/templates/bench-3step.yaml"})
	if err != nil {
		b.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	signer := runsign.NewSigner(priv)
	in := ScaffoldInput{TaskID: "0d6f4b5e-7a1c-4c55-9d2e-000000000000", Plan: *plan}
	for b.Loop() {
		claims, sig, err := signer.Sign(runsign.Claims{TaskID: in.TaskID, UserRef: in.Plan.UserRef, InputHash: in.InputHash(), BaseURL: in.Plan.Template.BaseURL, Attempt: 1})
		if err != nil {
			b.Fatal(err)
		}
		c, err := runsign.NewVerifier(signer.PublicKey()).Verify(claims, sig)
		if err != nil || c.InputHash != in.InputHash() {
			b.Fatal("the grant does not verify", err)
		}
	}
}
