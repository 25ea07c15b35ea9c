package farm

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// maxShards bounds -shard's N.
const maxShards = 256

// Shard is one part of a farm split over several runs (hosts, CI jobs,
// Kubernetes pods): Index of Count, from 1.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Sharded reports whether s splits the farm.
func (s Shard) Sharded() bool { return s.Count > 1 }

// ParseShard reads "I/N" (1 ≤ I ≤ N ≤ 256).
func ParseShard(v string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(v), "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || n > maxShards || i < 1 || i > n {
		return Shard{}, fmt.Errorf("%q: want I/N with 1 ≤ I ≤ N ≤ %d, like 2/4", v, maxShards)
	}
	return Shard{Index: i, Count: n}, nil
}

// ShardFromEnv picks the shard of a run: the -shard flag value, else
// WMPF_HIL_SHARD (I/N), else a Kubernetes Indexed Job's
// JOB_COMPLETION_INDEX (0-based) with count (from -shard-count); the whole
// farm (1/1) when none is set. where says which was used, for messages.
func ShardFromEnv(flagValue string, count int) (s Shard, where string, err error) {
	switch {
	case flagValue != "":
		s, err = ParseShard(flagValue)
		return s, "-shard", wrapShard("-shard", err)
	case os.Getenv("WMPF_HIL_SHARD") != "":
		s, err = ParseShard(os.Getenv("WMPF_HIL_SHARD"))
		return s, "WMPF_HIL_SHARD", wrapShard("WMPF_HIL_SHARD", err)
	case os.Getenv("JOB_COMPLETION_INDEX") != "":
		v := os.Getenv("JOB_COMPLETION_INDEX")
		idx, perr := strconv.Atoi(v)
		if count < 1 {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX is set (%s): give -shard-count N, the Job's completions", v)
		}
		if perr != nil || idx < 0 || idx >= count || count > maxShards {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX %q with -shard-count %d: want 0..%d", v, count, count-1)
		}
		return Shard{Index: idx + 1, Count: count}, "JOB_COMPLETION_INDEX", nil
	case count > 1:
		return Shard{}, "", fmt.Errorf("-shard-count %d without JOB_COMPLETION_INDEX: say which shard with -shard I/N", count)
	}
	return Shard{Index: 1, Count: 1}, "", nil
}

func wrapShard(where string, err error) error {
	if err != nil {
		return fmt.Errorf("%s %w", where, err)
	}
	return nil
}

// ShardDevices returns the names of the devices that belong to shard s:
// the devices of adb servers assigned to it (adbServers[].shard), and its
// share of the others, dealt so that every shard gets as even a share of
// every model as it can. The split depends only on the farm file and N.
func (c *Config) ShardDevices(s Shard) []string {
	pinned := map[string]int{}
	for _, a := range c.ADBServers {
		pinned[a.Name] = a.Shard
	}
	if len(c.ADBServers) > 0 {
		pinned[""] = c.ADBServers[0].Shard
	}
	total := make([]int, s.Count+1)
	var free []Planned
	var out []string
	for _, p := range c.Planned() {
		if k := pinned[p.ADBServer]; k > 0 {
			k = (k-1)%s.Count + 1
			total[k]++
			if k == s.Index {
				out = append(out, p.Name)
			}
			continue
		}
		free = append(free, p)
	}
	sort.SliceStable(free, func(i, j int) bool {
		if free[i].Model != free[j].Model {
			return free[i].Model < free[j].Model
		}
		return free[i].Name < free[j].Name
	})
	perModel := map[string][]int{}
	for _, p := range free {
		m := perModel[p.Model]
		if m == nil {
			m = make([]int, s.Count+1)
			perModel[p.Model] = m
		}
		best := 1
		for k := 2; k <= s.Count; k++ {
			if m[k] < m[best] || (m[k] == m[best] && total[k] < total[best]) {
				best = k
			}
		}
		m[best]++
		total[best]++
		if best == s.Index {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}
