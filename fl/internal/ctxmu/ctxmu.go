// Package ctxmu is a mutex whose Lock can give up, for the transports of
// package fl and its gRPC link.
package ctxmu

import (
	"context"
	"time"
)

// Mutex is a mutex whose Lock can give up. Its zero value is not usable:
// make one with New.
type Mutex chan struct{}

// New returns an unlocked Mutex.
func New() Mutex { return make(Mutex, 1) }

// Lock locks m, or returns ctx's error when ctx ends first.
func (m Mutex) Lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryLock locks m if it is free and reports whether it did.
func (m Mutex) TryLock() bool {
	select {
	case m <- struct{}{}:
		return true
	default:
		return false
	}
}

// LockWithin locks m within d and reports whether it did.
func (m Mutex) LockWithin(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return m.Lock(ctx) == nil
}

// Unlock unlocks m.
func (m Mutex) Unlock() { <-m }
