package catalog

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

func TestParseFilter(t *testing.T) {
	cases := []struct {
		in   []string
		want store.Filter
		err  string
	}{
		{nil, nil, ""},
		{[]string{""}, nil, ""},
		{[]string{" , ,"}, nil, ""},
		{[]string{"a=1"}, store.Filter{{{Key: "a", Values: []string{"1"}}}}, ""},
		{[]string{"a=1", "b=2"}, store.Filter{{{Key: "a", Values: []string{"1"}}}, {{Key: "b", Values: []string{"2"}}}}, ""},
		// Values of a key given twice are merged (any of), keys keep their order.
		{[]string{"a=1", "b=2,b=3,c=4"}, store.Filter{{{Key: "a", Values: []string{"1"}}}, {{Key: "b", Values: []string{"2", "3"}}, {Key: "c", Values: []string{"4"}}}}, ""},
		{[]string{" a = 1 , b = 2 , a = 3 "}, store.Filter{{{Key: "a", Values: []string{"1", "3"}}, {Key: "b", Values: []string{"2"}}}}, ""},
		{[]string{"kind=Component"}, store.Filter{{{Key: "kind", Values: []string{"Component"}}}}, ""},
		{[]string{"Metadata.Annotations.backstage.io/techdocs-ref"}, store.Filter{{{Key: "metadata.annotations.backstage.io/techdocs-ref"}}}, ""},
		{[]string{"spec.x="}, store.Filter{{{Key: "spec.x", Values: []string{""}}}}, ""},
		{[]string{"spec.x=a=b"}, store.Filter{{{Key: "spec.x", Values: []string{"a=b"}}}}, ""},
		{[]string{"relations.ownedBy=group:default/Team-A"}, store.Filter{{{Key: "relations.ownedby", Values: []string{"group:default/Team-A"}}}}, ""},
		{[]string{"x=2,=a"}, nil, "invalid filter, '=a' is not a valid statement"},
		{[]string{"="}, nil, "invalid filter, '=' is not a valid statement"},
	}
	for _, c := range cases {
		got, err := ParseFilter(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: want error %q, got %v", c.in, c.err, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestMatchFilter(t *testing.T) {
	e := parseOne(t, component)
	edges, _ := Relations(e)
	rows := SearchRows(e, edges)
	cases := []struct {
		filter []string
		want   bool
	}{
		{nil, true},
		{[]string{"kind=component"}, true},
		{[]string{"kind=COMPONENT"}, true},
		{[]string{"kind=api"}, false},
		{[]string{"kind=api", "kind=component"}, true},
		{[]string{"kind=api,kind=component"}, true},
		{[]string{"kind=component,spec.type=website"}, false},
		{[]string{"kind=component,spec.type=service"}, true},
		{[]string{"spec.owner"}, true},
		{[]string{"spec.nothing"}, false},
		{[]string{"metadata.uid"}, true}, // a null row still exists
		{[]string{"metadata.uid="}, false},
		{[]string{"metadata.namespace=default"}, true},
		{[]string{"metadata.tags=go"}, true},
		{[]string{"metadata.tags.go=true"}, true},
		{[]string{"relations.ownedBy=group:default/team-a"}, true},
		{[]string{"relations.ownedby=Group:Default/Team-A"}, true},
		{[]string{"relations.ownerOf"}, false}, // the reverse edge belongs to the group
		{[]string{"spec.providesApis=pay-api,spec.dependsOn=resource:default/db"}, true},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := MatchFilter(f, rows); got != c.want {
			t.Errorf("%q: got %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestParseFields(t *testing.T) {
	cases := []struct {
		in   []string
		want []string
		err  string
	}{
		{nil, nil, ""},
		{[]string{"", ","}, nil, ""},
		{[]string{"kind"}, []string{"kind"}, ""},
		{[]string{"kind, metadata.name", "spec"}, []string{"kind", "metadata.name", "spec"}, ""},
		{[]string{"metadata.tags[0]"}, nil, "array type fields are not supported"},
	}
	for _, c := range cases {
		got, err := ParseFields(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: want error %q, got %v", c.in, c.err, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// Cases after Backstage's parseEntityTransformParams.test.ts, plus the
// dotted-key and missing-path behaviour rigger defines.
func TestApplyFields(t *testing.T) {
	entity := func() map[string]any {
		return map[string]any{
			"apiVersion": "av", "kind": "k",
			"metadata": map[string]any{"name": "n", "tags": []any{"t1", "t2"},
				"annotations": map[string]any{"test.com/url-like": "ul1", "other": "o"}},
			"spec": map[string]any{"type": "t"},
		}
	}
	cases := []struct {
		fields []string
		want   string
	}{
		{nil, "map[apiVersion:av kind:k metadata:map[annotations:map[other:o test.com/url-like:ul1] name:n tags:[t1 t2]] spec:map[type:t]]"},
		{[]string{"kind"}, "map[kind:k]"},
		{[]string{"kind", "apiVersion"}, "map[apiVersion:av kind:k]"},
		{[]string{"kind", "metadata.name"}, "map[kind:k metadata:map[name:n]]"},
		{[]string{"metadata"}, "map[metadata:map[annotations:map[other:o test.com/url-like:ul1] name:n tags:[t1 t2]]]"},
		{[]string{"kind", "metadata.annotations.test.com/url-like"}, "map[kind:k metadata:map[annotations:map[test.com/url-like:ul1]]]"},
		{[]string{"metadata.name", "metadata"}, "map[metadata:map[annotations:map[other:o test.com/url-like:ul1] name:n tags:[t1 t2]]]"},
		{[]string{"metadata", "metadata.name"}, "map[metadata:map[annotations:map[other:o test.com/url-like:ul1] name:n tags:[t1 t2]]]"},
		{[]string{"metadata.missing", "spec.type.deeper", "nothing"}, "map[]"},
	}
	for _, c := range cases {
		e := entity()
		got := ApplyFields(e, c.fields)
		if s := fmt.Sprint(got); s != c.want {
			t.Errorf("%q: got %s, want %s", c.fields, s, c.want)
		}
		if fmt.Sprint(e) != fmt.Sprint(entity()) {
			t.Errorf("%q: the entity was modified: %v", c.fields, e)
		}
	}
}
