package profile

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Sampler draws durations for one device; safe for concurrent use.
type Sampler struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewSampler returns a sampler seeded with seed (same seed, same draws).
func NewSampler(seed int64) *Sampler {
	return &Sampler{r: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))}
}

// Sample draws one duration from d.
func (s *Sampler) Sample(d Dist) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.Sample(s.r)
}

// Float64 draws from [0, 1).
func (s *Sampler) Float64() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Float64()
}

// Sleep waits a duration drawn from d, or until ctx ends (false then).
func (s *Sampler) Sleep(ctx context.Context, d Dist) bool {
	return Sleep(ctx, s.Sample(d))
}

// Sleep waits for d or until ctx ends (false then).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
