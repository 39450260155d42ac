package contract

import "time"

// AWSActions are the actions of activities/aws, served on QueueAWS. Each
// has a dry-run behaviour: it reports what it would do and calls no AWS
// API (it does not even mint a session).
var AWSActions = []IntegrationAction{
	{Name: "aws:s3:put-object", Queue: QueueAWS, Timeout: 10 * time.Minute, DryRunSafe: true},
	{Name: "aws:s3:create-bucket", Queue: QueueAWS, Timeout: 2 * time.Minute, DryRunSafe: true},
}
