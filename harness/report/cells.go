package report

import (
	"sort"
	"time"
)

// noDevice names the group of cells recorded without a device (runs
// before schema v1).
const noDevice = "(no device)"

// deviceGroup is a device and its cells.
type deviceGroup struct {
	name  string
	dev   DeviceInfo
	cells []SpecResult
}

// groupByDevice groups the run's cells by device: every device with a
// record (excluded ones too, without cells) and every device a cell names,
// ordered by model, then by name in natural order (tv-2 before tv-10).
func groupByDevice(r *Results) []deviceGroup {
	at := map[string]int{}
	var groups []deviceGroup
	for _, d := range r.MergedDevices() {
		if d.Name == "" {
			continue
		}
		at[d.Name] = len(groups)
		groups = append(groups, deviceGroup{name: d.Name, dev: d})
	}
	for _, s := range r.Cells() {
		name := orNoDevice(s.Device)
		i, ok := at[name]
		if !ok {
			i = len(groups)
			at[name] = i
			groups = append(groups, deviceGroup{name: name, dev: DeviceInfo{Name: s.Device, Model: s.Model, SN: s.SN}})
		}
		g := &groups[i]
		if g.dev.Model == "" {
			g.dev.Model = s.Model
		}
		if g.dev.shard == 0 {
			g.dev.shard = s.shard
		}
		g.cells = append(g.cells, s)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if (a.name == noDevice) != (b.name == noDevice) {
			return b.name == noDevice
		}
		if a.dev.Model != b.dev.Model {
			return naturalLess(a.dev.Model, b.dev.Model)
		}
		return naturalLess(a.name, b.name)
	})
	return groups
}

// span is the wall-clock time of a device's cells: from the first start
// to the last finish, from start records, attempts and spec records.
func (g deviceGroup) span(r *Results) (first, last time.Time) {
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for _, st := range r.Starts {
		if st.Device == g.name || (st.Device == "" && g.name == noDevice) {
			see(st.at)
		}
	}
	for _, s := range g.cells {
		for _, a := range s.Attempts {
			see(a.Started)
			if !a.Started.IsZero() {
				see(a.Started.Add(a.Duration))
			}
		}
		if !s.Finished.IsZero() {
			see(s.Finished.Add(-s.Duration))
			see(s.Finished)
		}
	}
	return first, last
}

// naturalLess orders strings with their digit runs compared as numbers.
func naturalLess(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := trimZeros(a[si:i]), trimZeros(b[sj:j])
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			continue
		}
		if ca != cb {
			return ca < cb
		}
		i++
		j++
	}
	return len(a)-i < len(b)-j
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
