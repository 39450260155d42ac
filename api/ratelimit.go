package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// rateLimiter is a token bucket per caller identity: burst requests at
// once, then one every interval. Bounded: when it tracks maxKeys callers
// it forgets the full buckets (a full bucket is the same as none).
type rateLimiter struct {
	burst    float64
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	buckets map[string]bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

const rateLimiterMaxKeys = 10000

func newRateLimiter(burst int, interval time.Duration) *rateLimiter {
	return &rateLimiter{burst: float64(burst), interval: interval, now: time.Now, buckets: map[string]bucket{}}
}

// take spends one token of key's bucket; when empty it says how long until
// the next one.
func (l *rateLimiter) take(key string) (bool, time.Duration) {
	return l.takeAll(key)
}

// takeAll spends one token of each of keys' buckets, or none when one of
// them is empty (it then says how long until that one has a token).
func (l *rateLimiter) takeAll(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	bs := make([]bucket, len(keys))
	for i, key := range keys {
		b, ok := l.buckets[key]
		if !ok {
			b = bucket{tokens: l.burst, at: now}
		}
		b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.interval))
		b.at = now
		if b.tokens < 1 {
			l.buckets[key] = b
			return false, time.Duration((1 - b.tokens) * float64(l.interval))
		}
		bs[i] = b
	}
	if len(l.buckets) >= rateLimiterMaxKeys {
		for k, v := range l.buckets {
			if v.tokens+float64(now.Sub(v.at))/float64(l.interval) >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	for i, key := range keys {
		bs[i].tokens--
		l.buckets[key] = bs[i]
	}
	return true, 0
}

// limit answers 429 with Retry-After when the caller's bucket is empty.
func (l *rateLimiter) limit(what string) gin.HandlerFunc {
	return l.limitBy(what, "caller", func(c *gin.Context) string { return identity(c).Ref })
}

// limitPeer rate-limits by the client's address (for routes that run
// before anyone is identified): the connection's peer, or the client a
// trusted proxy names (server.trustedProxies).
func (l *rateLimiter) limitPeer(what string) gin.HandlerFunc {
	return l.limitBy(what, "address", func(c *gin.Context) string { return "peer:" + clientIP(c) })
}

// limitBy answers 429 with Retry-After when key's bucket is empty; per
// names the key in the message.
func (l *rateLimiter) limitBy(what, per string, key func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ok, wait := l.take(key(c)); !ok {
			tooMany(c, what+" is rate limited per "+per, wait)
			c.Abort()
			return
		}
		c.Next()
	}
}

// tooMany answers 429 with Retry-After.
func tooMany(c *gin.Context, msg string, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.Itoa(secs))
	writeStatus(c, http.StatusTooManyRequests, "TooManyRequestsError", msg+"; try again in "+strconv.Itoa(secs)+"s")
}
