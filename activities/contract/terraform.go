package contract

import "time"

// TerraformActions are the actions of activities/terraform, served on
// QueueTerraform. Each has a dry-run behaviour: it reports what it would
// do and does not run terraform.
var TerraformActions = []IntegrationAction{
	{Name: "terraform:plan", Queue: QueueTerraform, Timeout: 30 * time.Minute, DryRunSafe: true},
	{Name: "terraform:apply", Queue: QueueTerraform, Timeout: 30 * time.Minute, DryRunSafe: true},
	{Name: "terraform:output", Queue: QueueTerraform, Timeout: 5 * time.Minute, DryRunSafe: true},
	{Name: "terraform:destroy", Queue: QueueTerraform, Timeout: 30 * time.Minute, DryRunSafe: true},
}
