package techdocs

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/internal/store/storetest"
	"github.com/riggerdev/rigger/internal/testtools"
)

// Sites published to a real MinIO: files under <prefix><ns>/<kind>/<name>/,
// the record and search rows in the store, the next build's missing files
// deleted, reads served from the bucket.
func TestS3Sites(t *testing.T) {
	m := testtools.StartMinIO(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	storetest.Seed(t, st, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: checkout}\nspec: {type: service, lifecycle: production, owner: team-a}\n"+
		"---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: billing}\nspec: {type: service, lifecycle: production, owner: team-a}\n")
	files, err := NewS3(ctx, S3Config{Bucket: m.Bucket, Prefix: "techdocs/", Region: m.Region, Endpoint: m.Endpoint,
		AccessKeyID: m.AccessKeyID, SecretAccessKey: m.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	sites := &Sites{Store: st, Files: files}
	ref := "component:default/checkout"
	publish := func(fs map[string]string) {
		t.Helper()
		b := Build{Ref: ref, Files: map[string][]byte{MetadataFile: []byte(`{"site_name":"Checkout"}`)}, SourceHash: "h"}
		for k, v := range fs {
			b.Files[k] = []byte(v)
		}
		if err := sites.Publish(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	publish(map[string]string{"index.html": "<p>one</p>", "old/index.html": "<p>old</p>"})
	keys := func() []string {
		out, err := m.S3(m.RootUser, m.RootPassword, "").ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(m.Bucket)})
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, o := range out.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
		sort.Strings(ks)
		return ks
	}
	first := keys()
	site, err := st.DocsSite(ctx, ref)
	if err != nil || !strings.HasPrefix(site.Storage, "s3:") || string(site.Metadata) != `{"site_name":"Checkout"}` {
		t.Fatalf("record: %+v %v", site, err)
	}
	build := "techdocs/default/component/checkout/" + strings.TrimPrefix(site.Storage, "s3:") + "/"
	want := []string{build + "index.html", build + "old/index.html", build + "techdocs_metadata.json"}
	if !slices.Equal(first, want) {
		t.Fatalf("objects %v, want %v", first, want)
	}
	if _, err := st.DocsFile(ctx, ref, "index.html"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("an S3 site's files are in the database too: %v", err)
	}
	data, typ, err := sites.File(ctx, ref, "")
	if err != nil || string(data) != "<p>one</p>" || typ != "text/html; charset=utf-8" {
		t.Fatalf("read back: %q %q %v", data, typ, err)
	}
	// The next build is written beside the live one, then replaces it:
	// the first build's keys (old/ among them) go.
	publish(map[string]string{"index.html": "<p>two</p>"})
	second := keys()
	if len(second) != 2 || slices.Contains(second, want[0]) {
		t.Fatalf("after the second build: %v", second)
	}
	if _, _, err := sites.File(ctx, ref, "old/"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a dropped page: %v", err)
	}
	if data, _, _ := sites.File(ctx, ref, "index.html"); string(data) != "<p>two</p>" {
		t.Fatalf("second build read back: %q", data)
	}
	// A build that cannot be saved (its entity is gone) leaves the live
	// site as it was and its own keys are dropped.
	if err := sites.Publish(ctx, Build{Ref: "component:default/gone", Files: map[string][]byte{MetadataFile: []byte(`{}`), "index.html": []byte("x")}}); err == nil {
		t.Fatal("a build of no entity was saved")
	}
	if got := keys(); !slices.Equal(got, second) {
		t.Fatalf("objects after a failed save: %v, want %v", got, second)
	}
	// A deleted entity's site goes from the bucket at the next sweep
	// (every publish sweeps); the other entity's live site stays.
	ref = "component:default/billing"
	publish(map[string]string{"index.html": "<p>billing</p>"})
	billing := keys()
	e, err := st.EntityByRef(ctx, "component:default/checkout")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteEntity(ctx, e.UID); err != nil {
		t.Fatal(err)
	}
	if n, err := sites.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep dropped %d builds, %v; want 1", n, err)
	}
	var left []string
	for _, k := range billing {
		if !strings.HasPrefix(k, "techdocs/default/component/checkout/") {
			left = append(left, k)
		}
	}
	if got := keys(); len(left) != 2 || !slices.Equal(got, left) {
		t.Fatalf("objects after the sweep: %v, want %v", got, left)
	}
	if n, err := sites.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a second sweep dropped %d, %v", n, err)
	}
}
