package hostapp

import (
	"testing"
	"time"
)

func TestRefreshDelay(t *testing.T) {
	for left, want := range map[time.Duration]time.Duration{
		24 * time.Hour:          24 * time.Hour * 9 / 10, // 90% of a long life
		time.Minute:             54 * time.Second,
		20 * time.Second:        18 * time.Second,
		10 * time.Second:        8 * time.Second, // 2 s before expiry beats 90%
		9500 * time.Millisecond: 7500 * time.Millisecond,
		3 * time.Second:         time.Second, // never sooner than a second
		time.Second:             time.Second,
		0:                       time.Second,
		-5 * time.Second:        time.Second, // already expired: ask again in a second
	} {
		if got := refreshDelay(left); got != want {
			t.Errorf("refreshDelay(%v) = %v, want %v", left, got, want)
		}
	}
}
