package config

// Docs configures documentation sites (TechDocs).
type Docs struct {
	// Builder is who builds sites: local (Rigger's workers, when an entity
	// is ingested or its docs are opened; the default) or external (a CI
	// job runs rigger docs publish; Rigger builds nothing itself).
	Builder string `yaml:"builder"`
	// Storage is where built sites are kept: database (rigger's own store;
	// the default, and rigger dev's) or s3 (a bucket, for production).
	Storage string `yaml:"storage"`
	// S3 is the bucket of storage: s3.
	S3 DocsS3 `yaml:"s3"`
}

// DocsS3 is the bucket docs sites are published to.
type DocsS3 struct {
	Bucket string `yaml:"bucket"`
	// Prefix is prepended to every key, e.g. techdocs/.
	Prefix string `yaml:"prefix"`
	Region string `yaml:"region"`
	// Endpoint overrides AWS's (an S3-compatible server such as MinIO).
	Endpoint string `yaml:"endpoint"`
	// AccessKeyID and SecretAccessKey are a static credential; empty means
	// the default credential chain (the pod's or instance's role).
	AccessKeyID     string `yaml:"accessKeyId"`
	SecretAccessKey Secret `yaml:"secretAccessKey"`
}

func (c *Config) validateDocs(v *validator) {
	d := c.Docs
	if d.Builder != "" {
		v.oneOf("docs.builder", d.Builder, "local", "external")
	}
	if d.Storage != "" {
		v.oneOf("docs.storage", d.Storage, "database", "s3")
	}
	if d.Storage != "s3" {
		if d.S3 != (DocsS3{}) {
			v.add("docs.s3", "only used when docs.storage is s3")
		}
		return
	}
	v.required("docs.s3.bucket", d.S3.Bucket)
	if d.S3.Endpoint != "" {
		v.url("docs.s3.endpoint", d.S3.Endpoint, true)
	}
	if (d.S3.AccessKeyID == "") != (d.S3.SecretAccessKey == "") {
		v.add("docs.s3", "set accessKeyId and secretAccessKey together (or neither, for the default credential chain)")
	}
}
