package permission

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"
)

// FuzzEntityResource: the policy input builder takes any JSON without
// panicking; what it builds is lower-cased as documented and can be
// decided on by the default policy.
func FuzzEntityResource(f *testing.F) {
	for _, s := range fixture {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"kind":1,"metadata":{"name":null,"tags":[1,"A",{}],"annotations":{"a":1,"B":"C"}},"spec":{"owner":"bad:"}}`))
	f.Add([]byte(`{"relations":[{"type":"ownedBy"},{"type":"ownedBy","target":{"kind":"Group","name":"X"}}],"spec":[]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	p, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := EntityResource(body)
		if err != nil {
			var m map[string]any
			if json.Unmarshal(body, &m) == nil && m != nil {
				t.Fatalf("refused a JSON object: %v", err)
			}
			return
		}
		if s := string(res.uid.ID); s != strings.ToLower(s) {
			t.Errorf("resource %s is not lower-cased", s)
		}
		for _, k := range []string{"kind", "namespace", "name", "owner", "type", "lifecycle", "system"} {
			if _, ok := res.attrs[types.String(k)]; !ok {
				t.Errorf("attribute %s missing", k)
			}
		}
		for _, pr := range principals {
			d := p.Authorize(pr, EntityRead, res)
			if d.Reason == "" {
				t.Errorf("decision without a reason: %+v", d)
			}
		}
	})
}
