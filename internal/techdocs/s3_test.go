package techdocs

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store/sqlite"
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
	want := []string{"techdocs/default/component/checkout/index.html", "techdocs/default/component/checkout/old/index.html", "techdocs/default/component/checkout/techdocs_metadata.json"}
	if got := keys(); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("objects %v, want %v", got, want)
	}
	site, err := st.DocsSite(ctx, ref)
	if err != nil || site.Storage != "s3" || string(site.Metadata) != `{"site_name":"Checkout"}` {
		t.Fatalf("record: %+v %v", site, err)
	}
	if _, err := st.DocsFile(ctx, ref, "index.html"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("an S3 site's files are in the database too: %v", err)
	}
	data, typ, err := sites.File(ctx, ref, "")
	if err != nil || string(data) != "<p>one</p>" || typ != "text/html; charset=utf-8" {
		t.Fatalf("read back: %q %q %v", data, typ, err)
	}
	// The next build drops old/: its object goes too.
	publish(map[string]string{"index.html": "<p>two</p>"})
	if got := keys(); len(got) != 2 {
		t.Fatalf("after the second build: %v", got)
	}
	if _, _, err := sites.File(ctx, ref, "old/"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a dropped page: %v", err)
	}
	if data, _, _ := sites.File(ctx, ref, "index.html"); string(data) != "<p>two</p>" {
		t.Fatalf("second build read back: %q", data)
	}
}
