package provider

import (
	"fmt"
	"strings"
	"time"
)

// ParseOffset reads a clock offset: "" (none), a duration for every device
// ("3s", "-1500ms"), or a spread over n devices ("±4s" or "+-4s": evenly
// from -4s to +4s).
func ParseOffset(s string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, n)
	if s == "" {
		return out, nil
	}
	spread := strings.HasPrefix(s, "±") || strings.HasPrefix(s, "+-")
	t := strings.TrimPrefix(strings.TrimPrefix(s, "±"), "+-")
	d, err := parseDuration(t)
	if err != nil {
		return nil, fmt.Errorf("%q: want a duration like 3s or -1500ms, or a spread like ±4s", s)
	}
	if spread && d < 0 {
		return nil, fmt.Errorf("%q: a spread is ±POSITIVE", s)
	}
	for i := range out {
		out[i] = d
		if spread && n > 1 {
			out[i] = -d + time.Duration(float64(2*d)*float64(i)/float64(n-1))
		}
	}
	return out, nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. 500ms, 3s, 1m", s)
	}
	return d, nil
}
