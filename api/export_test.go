package api

import (
	"context"
	"time"
)

// SetClock replaces how the client waits between attempts and what time it thinks it is, and
// fixes the jitter, so retry tests need no real sleeps.
func SetClock(c *Client, sleep func(context.Context, time.Duration) error, now func() time.Time, jitter float64) {
	if sleep != nil {
		c.pipe.sleep = sleep
	}
	if now != nil {
		c.pipe.now = now
	}
	c.pipe.jitter = func() float64 { return jitter }
}

// Backoff exposes the policy's wait before retry n.
func (p RetryPolicy) Backoff(n int, jitter float64) time.Duration { return p.backoff(n, jitter) }
