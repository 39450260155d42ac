// Package searchattr names the custom Temporal search attributes rigger
// registers and sets on its workflows, so runs can be listed and filtered in
// the API and in the Temporal UI. It is pure data: no I/O, safe for workflows.
package searchattr

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

const (
	// Template is the template ref a scaffolder run was started from.
	Template = "RiggerTemplate"
	// User is the entity ref of the user who started the run.
	User = "RiggerUser"
	// Status is set on scaffolder runs that did not complete: failed or
	// cancelled (a completed run has none; Temporal's ExecutionStatus says
	// which), and on running ones while a step waits (StatusWaiting).
	Status = "RiggerStatus"
	// Channel is set on runs an agent started through /api/mcp: "mcp".
	Channel = "RiggerChannel"
)

// ChannelKey is Channel's typed key.
func ChannelKey() temporal.SearchAttributeKeyKeyword {
	return temporal.NewSearchAttributeKeyKeyword(Channel)
}

// StatusWaiting is Status while a run's step waits for a person, an outside
// event or a timer (rigger:approval, rigger:wait-for, debug:wait).
const StatusWaiting = "waiting"

// Keys returns typed keys for upserts from workflow code.
func Keys() (template, user, status temporal.SearchAttributeKeyKeyword) {
	return temporal.NewSearchAttributeKeyKeyword(Template),
		temporal.NewSearchAttributeKeyKeyword(User),
		temporal.NewSearchAttributeKeyKeyword(Status)
}

// Definitions returns every custom attribute with its indexed type.
func Definitions() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		Template: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		User:     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		Status:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		Channel:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}
