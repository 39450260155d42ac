package contract

// DocsBuild builds one entity's documentation site (its
// backstage.io/techdocs-ref) and stores it, with its search rows.
const DocsBuild = "rigger.docs.build"

// DocsBuildInput names the entity (its canonical ref). Force builds even
// when the source is unchanged since the last good build.
type DocsBuildInput struct {
	Ref   string `json:"ref"`
	Force bool   `json:"force,omitempty"`
}

// DocsBuildResult is how a build went. Its log is stored with the site
// record, not here (histories stay small).
type DocsBuildResult struct {
	// Updated: a new site was stored. False with Failed empty: the source
	// was unchanged.
	Updated bool `json:"updated"`
	// Failed is why the build failed (the last good site stays).
	Failed string `json:"failed,omitempty"`
}
