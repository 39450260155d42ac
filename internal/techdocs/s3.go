package techdocs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
// <prefix><namespace>/<kind>/<name>/ as Backstage's publishers lay them out.
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

// prefix is the key prefix of ref's site.
func (b *S3) prefix(ref string) (string, error) {
	r, err := catalog.ParseRef(ref, "", catalog.DefaultNamespace)
	if err != nil {
		return "", err
	}
	return b.cfg.Prefix + r.Namespace + "/" + r.Kind + "/" + r.Name + "/", nil
}

// Publish implements Files: every file is written, then the keys of the
// previous build that this one no longer has are deleted.
func (b *S3) Publish(ctx context.Context, ref string, files map[string][]byte) (bool, error) {
	pre, err := b.prefix(ref)
	if err != nil {
		return true, err
	}
	for p, data := range files {
		if _, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.cfg.Bucket, Key: aws.String(pre + p),
			Body: bytes.NewReader(data), ContentType: aws.String(ContentType(p))}); err != nil {
			return true, fmt.Errorf("put %s: %w", p, err)
		}
	}
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.cfg.Bucket, Prefix: &pre})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return true, fmt.Errorf("list %s: %w", pre, err)
		}
		var stale []types.ObjectIdentifier
		for _, o := range page.Contents {
			if _, keep := files[strings.TrimPrefix(aws.ToString(o.Key), pre)]; !keep {
				stale = append(stale, types.ObjectIdentifier{Key: o.Key})
			}
		}
		if len(stale) > 0 {
			if _, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b.cfg.Bucket, Delete: &types.Delete{Objects: stale, Quiet: aws.Bool(true)}}); err != nil {
				return true, fmt.Errorf("delete stale files of %s: %w", ref, err)
			}
		}
	}
	return true, nil
}

// maxFile bounds a file read back (the builder's site limit is larger in
// total, never per file).
const maxFile = 64 << 20

// Read implements Files.
func (b *S3) Read(ctx context.Context, ref, p string) ([]byte, error) {
	pre, err := b.prefix(ref)
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
