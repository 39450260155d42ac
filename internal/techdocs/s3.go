package techdocs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
)

// S3Config is docs.s3: the bucket production sites are published to.
type S3Config struct {
	Bucket string
	// Prefix is prepended to every key ("" = the bucket's root).
	Prefix   string
	Region   string
	Endpoint string
	// AccessKeyID and SecretAccessKey are a static credential; empty means
	// the default credential chain (a role of the pod, the instance…).
	AccessKeyID, SecretAccessKey string
}

// S3 keeps sites' files in a bucket, each site under
// <prefix><namespace>/<kind>/<name>/ as Backstage's publishers lay them out,
// one folder per build below it.
type S3 struct {
	cfg    S3Config
	client *s3.Client
}

// NewS3 returns the S3 backend; it does no I/O.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("docs.s3.bucket is required")
	}
	ac := aws.Config{Region: cfg.Region}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	if cfg.AccessKeyID != "" {
		ac.Credentials = awscreds.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
	} else {
		def, err := defaultAWSConfig(ctx, ac.Region)
		if err != nil {
			return nil, err
		}
		ac = def
	}
	return &S3{cfg: cfg, client: s3.NewFromConfig(ac, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
	})}, nil
}

// Name implements Files.
func (*S3) Name() string { return "s3" }

// prefix is the key prefix of ref's site: <prefix><namespace>/<kind>/<name>/.
func (b *S3) prefix(ref string) (string, error) {
	r, err := catalog.ParseRef(ref, "", catalog.DefaultNamespace)
	if err != nil {
		return "", err
	}
	return b.cfg.Prefix + r.Namespace + "/" + r.Kind + "/" + r.Name + "/", nil
}

// buildPrefix is the key prefix of one build of ref's site (storage is
// "s3:<build id>"): each build is written under its own id, and the
// record names the live one.
func (b *S3) buildPrefix(ref, storage string) (string, error) {
	id, ok := strings.CutPrefix(storage, "s3:")
	if !ok || id == "" || strings.ContainsAny(id, "/.") {
		return "", fmt.Errorf("docs storage %q is not an S3 build", storage)
	}
	pre, err := b.prefix(ref)
	return pre + id + "/", err
}

// Publish implements Files: every file goes under a new build id; the
// live site (another id) is untouched until the record names this one.
func (b *S3) Publish(ctx context.Context, ref string, files map[string][]byte) (string, bool, error) {
	storage := "s3:" + time.Now().UTC().Format("20060102T150405Z") + "-" + rand.Text()[:8]
	pre, err := b.buildPrefix(ref, storage)
	if err != nil {
		return "", true, err
	}
	for p, data := range files {
		if _, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.cfg.Bucket, Key: aws.String(pre + p),
			Body: bytes.NewReader(data), ContentType: aws.String(ContentType(p))}); err != nil {
			_ = b.Drop(context.WithoutCancel(ctx), ref, storage)
			return "", true, fmt.Errorf("put %s: %w", p, err)
		}
	}
	return storage, true, nil
}

// Drop implements Files: it deletes every key of one build.
func (b *S3) Drop(ctx context.Context, ref, storage string) error {
	pre, err := b.buildPrefix(ref, storage)
	if err != nil {
		return err
	}
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.cfg.Bucket, Prefix: &pre})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", pre, err)
		}
		var keys []types.ObjectIdentifier
		for _, o := range page.Contents {
			keys = append(keys, types.ObjectIdentifier{Key: o.Key})
		}
		if len(keys) > 0 {
			out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b.cfg.Bucket, Delete: &types.Delete{Objects: keys, Quiet: aws.Bool(true)}})
			if err != nil {
				return fmt.Errorf("delete %s: %w", pre, err)
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return fmt.Errorf("delete %s: %d keys not deleted, the first %s: %s %s", pre, len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
			}
		}
	}
	return nil
}

// maxFile bounds a file read back (the builder's site limit is larger in
// total, never per file).
const maxFile = 64 << 20

// Read implements Files.
func (b *S3) Read(ctx context.Context, ref, storage, p string) ([]byte, error) {
	pre, err := b.buildPrefix(ref, storage)
	if err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.cfg.Bucket, Key: aws.String(pre + p)})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, fmt.Errorf("%w: %s has no docs file %s", errs.ErrNotFound, ref, p)
	}
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxFile+1))
	if err == nil && len(data) > maxFile {
		err = fmt.Errorf("%s of %s is larger than %d bytes", p, ref, maxFile)
	}
	return data, err
}

func defaultAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
}
