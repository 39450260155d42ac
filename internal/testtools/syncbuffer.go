package testtools

import (
	"bytes"
	"sync"
)

// SyncBuffer collects output written from other goroutines (a process's
// stdout, a logger) for a test to read while they still write.
type SyncBuffer struct {
	// Max bounds what is kept, in bytes (0: everything): a write that
	// finds Max or more kept is dropped, and reported written.
	Max int
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Max > 0 && b.buf.Len() >= b.Max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
