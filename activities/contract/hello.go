package contract

import "time"

// Activity names are explicit and stable: they are written into workflow
// histories, so renaming one breaks every running workflow that uses it.
// QueueDefault runs workflows and the activities that need no integration.
const QueueDefault = "rigger-default"

const (
	// HelloCompose builds the greeting.
	HelloCompose = "rigger.hello.compose"
	// HelloDeliver "delivers" the greeting after an optional delay, heartbeating
	// while it waits so a crashed worker is noticed within seconds.
	HelloDeliver = "rigger.hello.deliver"
)

// HelloComposeInput is the input of HelloCompose.
type HelloComposeInput struct {
	Name string `json:"name"`
}

// HelloDeliverInput is the input of HelloDeliver.
type HelloDeliverInput struct {
	Greeting string        `json:"greeting"`
	Delay    time.Duration `json:"delay"`
}
