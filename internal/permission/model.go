package permission

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/jsonscan"
	"github.com/riggerdev/rigger/internal/store"
)

// Namespace is the Cedar namespace of every type of the model.
const Namespace = "Rigger"

// Entity types of the model, as Cedar names them.
const (
	TypeUser             = types.EntityType("Rigger::User")
	TypeGroup            = types.EntityType("Rigger::Group")
	TypeService          = types.EntityType("Rigger::Service")
	TypeGuest            = types.EntityType("Rigger::Guest")
	TypeAction           = types.EntityType("Rigger::Action")
	TypeEntity           = types.EntityType("Rigger::Entity")
	TypeTask             = types.EntityType("Rigger::Task")
	TypeScaffolderAction = types.EntityType("Rigger::ScaffolderAction")
	TypeLocation         = types.EntityType("Rigger::Location")
	TypeSystem           = types.EntityType("Rigger::System")
)

// Actions a policy decides (Rigger::Action::"<name>").
const (
	EntityRead      = "catalog.entity.read"
	EntityCreate    = "catalog.entity.create"
	EntityRefresh   = "catalog.entity.refresh"
	EntityDelete    = "catalog.entity.delete"
	LocationRead    = "catalog.location.read"
	LocationCreate  = "catalog.location.create"
	LocationDelete  = "catalog.location.delete"
	TemplateRead    = "scaffolder.template.read"
	TemplateExecute = "scaffolder.template.execute"
	ActionExecute   = "scaffolder.action.execute"
	TaskRead        = "scaffolder.task.read"
	TaskCancel      = "scaffolder.task.cancel"
	TaskRetry       = "scaffolder.task.retry"
	TaskApprove     = "scaffolder.task.approve"
	// TaskRunUnattended, on a template, lets a run an agent starts through
	// /api/mcp skip the approval before its first step with outside
	// effects (mcp.approval: policy).
	TaskRunUnattended = "scaffolder.task.runUnattended"
	DocsRead          = "docs.read"
	// DocsPublish is replacing an entity's docs site with one built
	// outside (rigger docs publish).
	DocsPublish     = "docs.publish"
	SearchQuery     = "search.query"
	AuditReadAction = "audit.read"
	TokenCreate     = "token.create"
	TokenRevoke     = "token.revoke"
	// PayloadDecode is decoding workflow payloads through the codec
	// endpoint (the Temporal UI shows runs' inputs and outputs with it);
	// its resource is Rigger::System::"temporal".
	PayloadDecode = "temporal.payload.decode"
	// ConfigRead is reading the running configuration (secrets redacted)
	// and its reload status; its resource is Rigger::System::"config".
	ConfigRead       = "config.read"
	guestPrincipalID = "guest"
)

// Actions lists every action name the model knows.
func Actions() []string {
	return []string{EntityRead, EntityCreate, EntityRefresh, EntityDelete,
		LocationRead, LocationCreate, LocationDelete,
		TemplateRead, TemplateExecute, ActionExecute,
		TaskRead, TaskCancel, TaskRetry, TaskApprove, TaskRunUnattended,
		DocsRead, DocsPublish, SearchQuery, AuditReadAction, TokenCreate, TokenRevoke, PayloadDecode, ConfigRead}
}

// attrs are the attributes each entity type of the model has; a policy
// naming another one is refused at load.
func attrs(t types.EntityType) []string {
	switch t {
	case TypeUser:
		return []string{"ref", "ent"}
	case TypeGroup, TypeGuest:
		return []string{"ref"}
	case TypeService:
		return []string{"ref", "scopes"}
	case TypeEntity:
		return entityAttrs
	case TypeTask:
		return []string{"createdBy", "template", "templateOwner"}
	case TypeScaffolderAction:
		return []string{"id", "integration", "target"}
	case TypeLocation:
		return []string{"type", "target"}
	}
	return nil
}

var (
	entityAttrs    = []string{"ref", "kind", "namespace", "name", "owner", "type", "lifecycle", "system", "annotations", "labels", "tags"}
	principalTypes = []types.EntityType{TypeUser, TypeGroup, TypeService, TypeGuest}
	resourceTypes  = []types.EntityType{TypeEntity, TypeTask, TypeScaffolderAction, TypeLocation, TypeSystem}
	allTypes       = append(append([]types.EntityType{TypeAction}, principalTypes...), resourceTypes...)
)

// Principal is who asks: a signed-in user with its ownership refs, a
// service (token) with its scopes, or the unauthenticated guest.
type Principal struct {
	// Ref is the user's entity ref (user:default/alice) or the service's
	// ref (service:<name>).
	Ref string
	// Ent are the ownership refs: the user's own ref and every group it
	// belongs to, directly or through parents.
	Ent     []string
	Service bool
	Scopes  []string
	Guest   bool
	// Channel is the interface the request came through: "mcp" for the
	// agents' endpoint, "" (seen by policies as "api") for everything else.
	Channel string
}

// Channels are the values context.channel takes.
const (
	ChannelAPI = "api"
	ChannelMCP = "mcp"
)

// context is the Cedar request context of a decision: the channel the
// request came through (context.channel).
func (p Principal) context() types.Record {
	switch p.Channel {
	case "", ChannelAPI:
		return apiContext
	case ChannelMCP:
		return mcpContext
	}
	return channelContext(p.Channel)
}

// apiContext and mcpContext are the known channels' contexts, built once
// (a record is immutable): each decision built its own.
var apiContext, mcpContext = channelContext(ChannelAPI), channelContext(ChannelMCP)

func channelContext(ch string) types.Record {
	return types.NewRecord(types.RecordMap{"channel": types.String(ch)})
}

// uid is the principal's Cedar entity.
func (p Principal) uid() types.EntityUID {
	switch {
	case p.Guest:
		return types.NewEntityUID(TypeGuest, guestPrincipalID)
	case p.Service:
		return types.NewEntityUID(TypeService, types.String(strings.TrimPrefix(p.Ref, "service:")))
	}
	return types.NewEntityUID(TypeUser, types.String(strings.ToLower(p.Ref)))
}

// String names the principal in a decision's reason.
func (p Principal) String() string { return p.uid().String() }

// entities are the Cedar entities the principal brings: itself and, for a
// user, its groups (flat: Ent already holds every group transitively).
func (p Principal) entities() types.EntityMap {
	m := types.EntityMap{}
	uid := p.uid()
	switch {
	case p.Guest:
		m[uid] = types.Entity{UID: uid, Attributes: types.NewRecord(types.RecordMap{"ref": types.String(p.Ref)})}
	case p.Service:
		m[uid] = types.Entity{UID: uid, Attributes: types.NewRecord(types.RecordMap{
			"ref": types.String(p.Ref), "scopes": stringSet(p.Scopes, false)})}
	default:
		var parents []types.EntityUID
		for _, ref := range p.Ent {
			ref = strings.ToLower(ref)
			if strings.HasPrefix(ref, "group:") {
				g := types.NewEntityUID(TypeGroup, types.String(ref))
				parents = append(parents, g)
				m[g] = types.Entity{UID: g, Attributes: types.NewRecord(types.RecordMap{"ref": types.String(ref)})}
			}
		}
		ent := slices.Clone(p.Ent)
		if !slices.ContainsFunc(ent, func(s string) bool { return strings.EqualFold(s, p.Ref) }) {
			ent = append(ent, p.Ref)
		}
		m[uid] = types.Entity{UID: uid, Parents: types.NewEntityUIDSet(parents...), Attributes: types.NewRecord(types.RecordMap{
			"ref": types.String(strings.ToLower(p.Ref)), "ent": stringSet(ent, true)})}
	}
	return m
}

func stringSet(ss []string, lower bool) types.Set {
	vals := make([]types.Value, len(ss))
	for i, s := range ss {
		if lower {
			s = strings.ToLower(s)
		}
		vals[i] = types.String(s)
	}
	return types.NewSet(vals...)
}

// Resource is what an action is done to.
type Resource struct {
	uid   types.EntityUID
	attrs types.RecordMap
}

// String names the resource in a decision's reason.
func (r Resource) String() string { return r.uid.String() }

// Type is the resource's Cedar entity type.
func (r Resource) Type() types.EntityType { return r.uid.Type }

func (r Resource) entity() types.Entity {
	return types.Entity{UID: r.uid, Attributes: types.NewRecord(r.attrs)}
}

// TaskResource is a scaffolder task (Rigger::Task::"<id>"): who created it,
// its template's ref and that template's owner.
func TaskResource(id, createdBy, template, templateOwner string) Resource {
	return Resource{uid: types.NewEntityUID(TypeTask, types.String(id)), attrs: types.RecordMap{
		"createdBy":     types.String(strings.ToLower(createdBy)),
		"template":      types.String(strings.ToLower(template)),
		"templateOwner": types.String(strings.ToLower(templateOwner)),
	}}
}

// ActionResource is a scaffolder action (Rigger::ScaffolderAction::"<id>").
func ActionResource(id string) Resource { return ActionTargetResource(id, "", "") }

// ActionTargetResource is a scaffolder action used on one target of an
// integration, as the credential broker asks at run time: integration
// "github" and target "github.com/acme/payments", or "aws" and an S3 ARN.
// Both are "" when a run starts (so a policy's `resource.target like …`
// is false, not an error, then).
func ActionTargetResource(id, integration, target string) Resource {
	return Resource{uid: types.NewEntityUID(TypeScaffolderAction, types.String(id)), attrs: types.RecordMap{
		"id": types.String(id), "integration": types.String(integration), "target": types.String(target)}}
}

// LocationResource is a catalog location (Rigger::Location::"<id>").
func LocationResource(id, typ, target string) Resource {
	return Resource{uid: types.NewEntityUID(TypeLocation, types.String(id)), attrs: types.RecordMap{
		"type": types.String(typ), "target": types.String(target)}}
}

// SystemResource is a part of rigger itself (Rigger::System::"audit",
// "tokens", "search").
func SystemResource(name string) Resource {
	return Resource{uid: types.NewEntityUID(TypeSystem, types.String(name)), attrs: types.RecordMap{}}
}

// EntityResource builds the Rigger::Entity of a catalog entity's JSON (as
// the store returns it, relations stitched on, or as written). Every string
// is lower-cased, as the catalog's filters compare: kind, namespace, name,
// ref, owner (the ownedBy relation's target, else spec.owner completed to a
// full ref), type, lifecycle, system (spec.*), annotations and labels (keys
// and values) and tags. A missing string attribute is "", a missing record
// or set is empty: a policy never fails on an absent field.
func EntityResource(body json.RawMessage) (Resource, error) {
	return EntityResourceModel(nil, body)
}

// EntityResourceModel is EntityResource under a catalog.model: an entity
// of a model kind without its relations gets the owner its model's
// ownedBy field gives (nil: the built-in kinds only).
func EntityResourceModel(model *catalog.Model, body json.RawMessage) (Resource, error) {
	var e catalog.Entity
	if err := json.Unmarshal(body, &e); err != nil {
		return Resource{}, fmt.Errorf("entity JSON: %w", err)
	}
	if e == nil {
		return Resource{}, fmt.Errorf("entity JSON: not an object")
	}
	return entityResource(model, e), nil
}

func entityResource(model *catalog.Model, e catalog.Entity) Resource {
	md, spec := e.Metadata(), e.Spec()
	str := func(m map[string]any, k string) string {
		s, _ := m[k].(string)
		return s
	}
	f := entityFields{
		kind: e.Kind(), namespace: e.Namespace(), name: e.Name(),
		typ: str(spec, "type"), lifecycle: str(spec, "lifecycle"), system: str(spec, "system"),
		annotations: stringRecord(md["annotations"]), labels: stringRecord(md["labels"]),
	}
	for _, r := range e.WireRelations() {
		if strings.EqualFold(r.Type, "ownedBy") {
			f.owner = r.TargetRef
			break
		}
	}
	if f.owner == "" {
		// A body without its relations (read to decide, not to show): the
		// ownedBy edge the catalog emits for it — only the kinds whose
		// spec.owner is a relation have one, exactly as the SQL filter sees.
		// A catalog.model kind's edges come from its model (a policy
		// test's inline entity; the store's stitch theirs on).
		edges, _ := model.Relations(e)
		self := e.Ref().String()
		for _, ed := range edges {
			if ed.Source == self && ed.Type == catalog.RelOwnedBy {
				f.owner = ed.Target
				break
			}
		}
	}
	if l, ok := md["tags"].([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				f.tags = append(f.tags, s)
			}
		}
	}
	return f.resource()
}

// entityFields are what a policy sees of an entity, as written (resource
// lower-cases them): namespace "default" when unset, any string field ""
// when missing or not a string.
type entityFields struct {
	kind, namespace, name, owner string
	typ, lifecycle, system       string
	annotations, labels          types.Record
	tags                         []string
}

func (f entityFields) resource() Resource {
	kind, ns, name := strings.ToLower(f.kind), strings.ToLower(f.namespace), strings.ToLower(f.name)
	ref := kind + ":" + ns + "/" + name
	return Resource{uid: types.NewEntityUID(TypeEntity, types.String(ref)), attrs: types.RecordMap{
		"ref": types.String(ref), "kind": types.String(kind), "namespace": types.String(ns), "name": types.String(name),
		"owner":       types.String(strings.ToLower(f.owner)),
		"type":        types.String(strings.ToLower(f.typ)),
		"lifecycle":   types.String(strings.ToLower(f.lifecycle)),
		"system":      types.String(strings.ToLower(f.system)),
		"annotations": f.annotations,
		"labels":      f.labels,
		"tags":        stringSet(f.tags, true),
	}}
}

// stringRecord keeps the string values of an object, keys and values
// lower-cased.
func stringRecord(v any) types.Record {
	m, _ := v.(map[string]any)
	out := make(types.RecordMap, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if s, ok := m[k].(string); ok {
			out[types.String(strings.ToLower(k))] = types.String(strings.ToLower(s))
		}
	}
	return types.NewRecord(out)
}

// StoredResource is EntityResource of an entity as the store returns it
// (body without relations, relations beside it). A body the catalog
// marshalled, as its stored hash says, is scanned for the fields a policy
// sees (scannedResource) instead of decoded whole: a by-name read spent a
// quarter of its allocation, and 8 % of its CPU time, decoding a body to
// read ten strings of it. Any other body is decoded as EntityResource
// does. For every body json.Unmarshal accepts both give the same resource
// (TestStoredResourceScanMatchesDecode, FuzzStoredResourceScan). The scan
// does not validate: a body that is not JSON but carries its own hash
// would be read, not refused, and only a writer of the catalog's tables
// can store one, who could as well store any valid body (RenderRaw
// trusts the hash the same way).
func StoredResource(e *store.StoredEntity) (Resource, error) {
	if e.Hash != "" && catalog.IsBodyHash(e.Body, e.Hash) {
		if res, ok := scannedResource(e); ok {
			return res, nil
		}
	}
	return decodedResource(e)
}

// decodedResource is StoredResource from the body decoded whole.
func decodedResource(e *store.StoredEntity) (Resource, error) {
	var ent catalog.Entity
	if err := json.Unmarshal(e.Body, &ent); err != nil {
		return Resource{}, fmt.Errorf("entity %s: %w", e.Ref, err)
	}
	if ent == nil {
		return Resource{}, fmt.Errorf("entity %s: body is not an object", e.Ref)
	}
	rels := make([]any, 0, len(e.Relations))
	for _, r := range e.Relations {
		rels = append(rels, map[string]any{"type": r.Type, "targetRef": r.Target})
	}
	ent["relations"] = rels
	return entityResource(nil, ent), nil
}

// scannedResource is StoredResource from the fields of e's (valid) body
// scanned where they are, as json.Unmarshal into a map reads them: keys
// matched exactly, the last of duplicate keys winning. false where the
// scan would need what only a decode gives: no ownedBy relation (the
// owner then comes from the body, through the catalog's model), or
// annotation or label keys equal once lower-cased (stringRecord keeps the
// value of the last in sorted order, not in the document's).
func scannedResource(e *store.StoredEntity) (Resource, bool) {
	var f entityFields
	for _, r := range e.Relations {
		if r.Type != "" && r.Target != "" && strings.EqualFold(r.Type, "ownedBy") {
			f.owner = r.Target
			break
		}
	}
	if f.owner == "" {
		return Resource{}, false
	}
	var md, spec, annotations, labels, tags []byte
	// A body that is not an object is the decode's to refuse.
	err := jsonscan.Members(e.Body, func(key, _, val []byte) error {
		switch string(key) {
		case "kind":
			f.kind, _ = jsonscan.String(val)
		case "metadata":
			md = val
		case "spec":
			spec = val
		}
		return nil
	})
	if err != nil {
		return Resource{}, false
	}
	if !scanObject(md, func(key, val []byte) {
		switch string(key) {
		case "name":
			f.name, _ = jsonscan.String(val)
		case "namespace":
			f.namespace, _ = jsonscan.String(val)
		case "annotations":
			annotations = val
		case "labels":
			labels = val
		case "tags":
			tags = val
		}
	}) {
		return Resource{}, false
	}
	if f.namespace == "" {
		f.namespace = catalog.DefaultNamespace
	}
	if !scanObject(spec, func(key, val []byte) {
		switch string(key) {
		case "type":
			f.typ, _ = jsonscan.String(val)
		case "lifecycle":
			f.lifecycle, _ = jsonscan.String(val)
		case "system":
			f.system, _ = jsonscan.String(val)
		}
	}) {
		return Resource{}, false
	}
	var ok bool
	if f.annotations, ok = scannedRecord(annotations); !ok {
		return Resource{}, false
	}
	if f.labels, ok = scannedRecord(labels); !ok {
		return Resource{}, false
	}
	if len(tags) > 0 && tags[0] == '[' {
		err = jsonscan.Elements(tags, func(val []byte) error {
			if s, ok := jsonscan.String(val); ok {
				f.tags = append(f.tags, s)
			}
			return nil
		})
		if err != nil {
			return Resource{}, false
		}
	}
	return f.resource(), true
}

// scanObject calls fn with each member of the member value val when it
// is a JSON object (one that is not counts as absent); false when the
// scan fails.
func scanObject(val []byte, fn func(key, val []byte)) bool {
	if !isObject(val) {
		return true
	}
	return jsonscan.Members(val, func(key, _, val []byte) error {
		fn(key, val)
		return nil
	}) == nil
}

// isObject reports whether the member value val (jsonscan hands it
// without surrounding space) is an object.
func isObject(val []byte) bool { return len(val) > 0 && val[0] == '{' }

// scannedRecord is stringRecord of the JSON value val; false where keys
// collide (a duplicate, or two equal once lower-cased) or one is not
// valid UTF-8, which only a decode settles as stringRecord does.
func scannedRecord(val []byte) (types.Record, bool) {
	if !isObject(val) {
		return stringRecord(nil), true
	}
	out := types.RecordMap{}
	err := jsonscan.Members(val, func(key, _, v []byte) error {
		if !utf8.Valid(key) {
			return errCollision
		}
		k := types.String(strings.ToLower(string(key)))
		if _, dup := out[k]; dup {
			return errCollision
		}
		if s, ok := jsonscan.String(v); ok {
			out[k] = types.String(strings.ToLower(s))
		} else {
			// Marks the key taken: a later duplicate is a collision.
			out[k] = nil
		}
		return nil
	})
	if err != nil {
		return types.Record{}, false
	}
	maps.DeleteFunc(out, func(_ types.String, v types.Value) bool { return v == nil })
	return types.NewRecord(out), true
}

// errCollision stops scannedRecord's scan.
var errCollision = errors.New("keys collide")
