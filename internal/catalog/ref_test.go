package catalog

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	cases := []struct {
		in, kind, ns string
		want         Ref
		err          string
	}{
		{in: "team-a", kind: "Group", ns: "default", want: Ref{"Group", "default", "team-a"}},
		{in: "team-a", kind: "Group", ns: "", want: Ref{"Group", "default", "team-a"}},
		{in: "user:jdoe", kind: "Group", ns: "ops", want: Ref{"user", "ops", "jdoe"}},
		{in: "ops/team-a", kind: "Group", ns: "default", want: Ref{"Group", "ops", "team-a"}},
		{in: "Group:Ops/Team-A", kind: "", ns: "default", want: Ref{"Group", "Ops", "Team-A"}},
		// Backstage: a '/' before the ':' makes the rest the name.
		{in: "ns/a:b", kind: "Component", ns: "default", want: Ref{"Component", "ns", "a:b"}},
		// Backstage takes everything after the first '/' as the name.
		{in: "a:b/c/d", kind: "", ns: "", want: Ref{"a", "b", "c/d"}},
		{in: "", kind: "Group", ns: "default", err: "must not be empty"},
		{in: "x:", kind: "Group", ns: "default", err: "not of the form"},
		{in: ":x", kind: "Group", ns: "default", err: "not of the form"},
		{in: "x:ns/", kind: "Group", ns: "default", err: "not of the form"},
		{in: "/x", kind: "Group", ns: "default", err: "not of the form"},
		{in: "name", kind: "", ns: "default", err: "has no kind"},
		{in: "ns/name", kind: "", ns: "default", err: "has no kind"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseRef(c.in, c.kind, c.ns)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %#v, %v; want %#v", got, err, c.want)
			}
		})
	}
}

func TestRefStringAndEqual(t *testing.T) {
	cases := []struct {
		ref  Ref
		want string
	}{
		{Ref{"Component", "default", "My-Svc"}, "component:default/my-svc"},
		{Ref{"Group", "", "Team"}, "group:default/team"},
		{Ref{"API", "Ops", "Pay"}, "api:ops/pay"},
		{Ref{"Ä", "ns", "Ñame"}, "ä:ns/ñame"},
	}
	for _, c := range cases {
		if got := c.ref.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.ref, got, c.want)
		}
		if c.ref.Key() != c.want {
			t.Errorf("%#v.Key() = %q", c.ref, c.ref.Key())
		}
	}
	if !(Ref{"component", "", "X"}).Equal(Ref{"Component", "default", "x"}) {
		t.Error("refs differing in case and default namespace are not equal")
	}
	// Equal agrees with String even where simple case folding does not
	// ('İ' lower-cases to 'i').
	if a, b := (Ref{"k", "", "İ"}), (Ref{"k", "", "i"}); a.Equal(b) != (a.String() == b.String()) {
		t.Errorf("Equal and String disagree on %v and %v", a, b)
	}
	if (Ref{"component", "a", "x"}).Equal(Ref{"component", "b", "x"}) {
		t.Error("refs in different namespaces are equal")
	}
}
