package limiter

import "github.com/weftgo/weft/internal/observe"

// Observation is one timed event of a Semaphore, Bulkhead or Adaptive,
// given to the functions attached with their Observe methods. Event is
// "wait" for the time a caller spent queued (Err is nil if it was admitted,
// else why it left the queue) and "call" for the time an Adaptive's call
// ran, from Acquire's return to done (Err is what done was given). The same
// type serves every weft package that has timed events, so that one
// observer function can be attached to any of them.
type Observation = observe.Observation
