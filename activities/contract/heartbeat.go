package contract

import "time"

// HeartbeatTimeout is the heartbeat timeout the workflows give every regular
// activity that can run longer than a few seconds (catalog refresh and
// analysis, scaffolder actions on a queue): an activity lost with its worker
// is noticed within this time and retried, instead of after its
// start-to-close timeout. Such activities record a heartbeat every
// HeartbeatInterval while they run, whatever they are doing.
const HeartbeatTimeout = 10 * time.Second

// HeartbeatInterval is how often those activities heartbeat: well inside
// HeartbeatTimeout, so a busy worker or a slow round trip is no timeout.
const HeartbeatInterval = 2 * time.Second
