package permission

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// ownedByTeamA is the relations a stored component of team-a has.
var ownedByTeamA = []store.Relation{
	{Type: "dependsOn", Target: "component:default/db"},
	{Type: "ownedBy", Target: "group:default/Team-A"},
}

// scanCases are bodies whose scan and decode must agree: what json.Marshal
// writes, and what it never does (duplicate keys, escapes, values of the
// wrong type), which a scan trusting a matching hash must still read as a
// decode would.
var scanCases = []string{
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"Svc-A","namespace":"Pay","tags":["Go","api",3,null],"annotations":{"rigger.dev/Sensitive":"TRUE","n":1},"labels":{"Tier":"Gold"}},"spec":{"type":"Service","lifecycle":"production","system":"Pay","owner":"team-a"}}`,
	`{"kind":"Component","metadata":{"name":"a"},"spec":{"type":"service"}}`,
	`{"kind":"Component"}`,
	`{}`,
	`{"kind":7,"metadata":[],"spec":"x"}`,
	`{"kind":"Component","metadata":null,"spec":null}`,
	// The last of duplicate keys wins, as in a decoded map.
	`{"kind":"API","kind":"Component","metadata":{"name":"first","name":"second","tags":["a"],"tags":"not a list"},"spec":{"type":"a","type":false}}`,
	`{"metadata":{"name":"n"},"metadata":"gone"}`,
	`{"spec":{"system":"s"},"spec":{"lifecycle":"l"}}`,
	// Keys and values with escapes; keys matched exactly, not case-folded.
	`{"k\u0069nd":"Comp\u006fnent","Kind":"API","metadata":{"n\u0061me":"\u00e9t\u00c9","Name":"x","annotations":{"a\"b":"q\\u","\u0041":"\ud800"}},"spec":{"Type":"x","type":"t\n"}}`,
	// Whitespace a hand-written body may have.
	" { \"kind\" : \"Component\" ,\n\t\"metadata\" : { \"name\" : \"w\" , \"tags\" : [ \"x\" , \"y\" ] } , \"spec\" : { } } ",
	// Values that are not strings are left out.
	`{"kind":"Component","metadata":{"name":"c","labels":{"b":"1","a":{"x":"y"},"c":["d"]}}}`,
	// Keys equal once lower-cased, or duplicates: the scan hands these to
	// the decode.
	`{"kind":"Component","metadata":{"name":"c","annotations":{"a":"2","A":"1"}}}`,
	`{"kind":"Component","metadata":{"name":"c","labels":{"x":"1","x":2}}}`,
	`{"kind":"Component","metadata":{"name":"c","labels":{"x":2,"x":"1"}}}`,
}

// sameResource fails t unless a and b are the same Cedar entity.
func sameResource(t *testing.T, what string, a, b Resource) {
	t.Helper()
	ea, eb := a.entity(), b.entity()
	if ea.UID != eb.UID || !ea.Attributes.Equal(eb.Attributes) {
		ja, _ := json.Marshal(ea)
		jb, _ := json.Marshal(eb)
		t.Errorf("%s:\n got %s\nwant %s", what, ja, jb)
	}
}

// TestStoredResourceScanMatchesDecode: what a policy sees of a stored
// entity is the same whether its body is scanned or decoded.
func TestStoredResourceScanMatchesDecode(t *testing.T) {
	scanned := 0
	for i, body := range scanCases {
		e := &store.StoredEntity{Ref: fmt.Sprintf("case %d", i), Body: json.RawMessage(body), Relations: ownedByTeamA}
		want, err := decodedResource(e)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, ok := scannedResource(e)
		if !ok {
			continue
		}
		scanned++
		sameResource(t, fmt.Sprintf("case %d %s", i, body), got, want)
	}
	// The collisions are the decode's; everything before them scans.
	if want := len(scanCases) - 3; scanned != want {
		t.Errorf("%d cases scanned, want %d", scanned, want)
	}
	// Without an ownedBy relation the owner comes from the body, through
	// the catalog's model: the decode's.
	e := &store.StoredEntity{Body: json.RawMessage(scanCases[0]), Relations: ownedByTeamA[:1]}
	if _, ok := scannedResource(e); ok {
		t.Error("an entity without an ownedBy relation was scanned")
	}
	res, err := StoredResource(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.attrs["owner"]; got != types.String("group:pay/team-a") {
		t.Errorf("owner from spec.owner = %s, want group:pay/team-a (the entity's namespace)", got)
	}
}

// TestStoredResourceScansTrustedBodies: a body whose stored hash matches
// (what a refresh marshalled) is scanned, far cheaper than a decode; any
// other is decoded, so a body that is not JSON and does not carry its
// own hash is still refused.
func TestStoredResourceScansTrustedBodies(t *testing.T) {
	var ent catalog.Entity
	if err := json.Unmarshal([]byte(fixture[0]), &ent); err != nil {
		t.Fatal(err)
	}
	row, err := catalog.Row(ent)
	if err != nil {
		t.Fatal(err)
	}
	e := &store.StoredEntity{Ref: row.Ref, Body: row.Body, Hash: row.Hash, Relations: ownedByTeamA}
	if !catalog.IsBodyHash(e.Body, e.Hash) {
		t.Fatal("the fixture's hash does not match its body")
	}
	got, err := StoredResource(e)
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodedResource(e)
	if err != nil {
		t.Fatal(err)
	}
	sameResource(t, "trusted body", got, want)
	scan := testing.AllocsPerRun(50, func() { _, _ = StoredResource(e) })
	decode := testing.AllocsPerRun(50, func() { _, _ = decodedResource(e) })
	if scan >= decode*3/4 {
		t.Errorf("a trusted body took %.0f allocations, a decode %.0f: not scanned", scan, decode)
	}

	for _, body := range []string{`{"kind":`, `null`, `[1]`} {
		bad := &store.StoredEntity{Ref: "component:default/bad", Body: json.RawMessage(body), Hash: row.Hash, Relations: ownedByTeamA}
		if _, err := StoredResource(bad); err == nil {
			t.Errorf("body %s with another body's hash: no error", body)
		}
	}
}

// FuzzStoredResourceScan: for any JSON object, a scan that answers agrees
// with the decode.
func FuzzStoredResourceScan(f *testing.F) {
	for _, s := range append(scanCases, fixture...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m == nil {
			return // the scan is only handed valid JSON
		}
		e := &store.StoredEntity{Body: body, Relations: ownedByTeamA}
		want, err := decodedResource(e)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := scannedResource(e); ok {
			sameResource(t, string(body), got, want)
		}
	})
}
