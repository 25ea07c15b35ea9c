package framework

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strings"

	ginkgo "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wmpf-hil/wmpf-hil/harness/device"
	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// registration is a suite container registered with Describe.
type registration struct {
	text string
	args []any
}

var registry []registration

// Describe registers a container of specs — Ginkgo's Describe, with the
// same arguments — to run on the devices of the run: on every healthy
// device (matrix device), once per model (model), or once (any). Call it at
// package level: var _ = framework.Describe("Launch", Label("launch"), func() {…}).
func Describe(text string, args ...any) bool {
	registry = append(registry, registration{text: text, args: args})
	return true
}

// Cell is one spec on one device: the unit of a run's verdicts.
type Cell struct {
	// Spec is the spec's text, without any device.
	Spec string `json:"spec"`
	// Device is the device the cell belongs to.
	Device string `json:"device"`
	// Attempt counts from 1; OnDevice, when not Device, is the device an
	// infrastructure retry runs it on (another of the same model).
	Attempt  int    `json:"attempt"`
	OnDevice string `json:"onDevice,omitempty"`
	// Prior are the cell's earlier attempts (an infrastructure retry's),
	// kept in its record.
	Prior []report.Attempt `json:"prior,omitempty"`
}

// Name is the cell's test name: the spec's text and the device's name.
func (c Cell) Name() string { return CellName(c.Spec, c.Device) }

// CellName is the test name of spec on device.
func CellName(spec, device string) string { return spec + " [" + device + "]" }

// Target is the device the cell runs on.
func (c Cell) Target() string {
	if c.OnDevice != "" {
		return c.OnDevice
	}
	return c.Device
}

// WorkerPlan is what wmpf-hil run hands a worker: the run directory and
// the cells to run, all on one device.
type WorkerPlan struct {
	RunDir string `json:"runDir"`
	// Device is the device the worker drives.
	Device string `json:"device"`
	Cells  []Cell `json:"cells"`
	// Worker numbers the worker in the run, for its records.
	Worker int `json:"worker"`
}

// WritePlan writes a worker's plan to path.
func WritePlan(path string, p WorkerPlan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func readPlan(path string) (WorkerPlan, error) {
	var p WorkerPlan
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("worker plan: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("worker plan %s: %w", path, err)
	}
	return p, nil
}

// Assign says which of devices run spec under matrix m: every device
// (device); one of each model, chosen by the spec's text (model); one of
// them all, chosen likewise (any). The choice depends only on the spec's
// text and the devices, so it is the same in every run of the same farm.
func Assign(m farm.Matrix, spec string, devices []device.Spec) []string {
	switch m {
	case farm.MatrixModel:
		byModel := map[string][]string{}
		for _, d := range devices {
			byModel[d.Model] = append(byModel[d.Model], d.Name)
		}
		var out []string
		for _, names := range byModel {
			sort.Strings(names)
			out = append(out, names[pickIndex(spec, len(names))])
		}
		sort.Strings(out)
		return out
	case farm.MatrixAny:
		if len(devices) == 0 {
			return nil
		}
		names := make([]string, 0, len(devices))
		for _, d := range devices {
			names = append(names, d.Name)
		}
		sort.Strings(names)
		return []string{names[pickIndex(spec, len(names))]}
	}
	out := make([]string, 0, len(devices))
	for _, d := range devices {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

func pickIndex(spec string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(spec))
	return int(h.Sum32() % uint32(n))
}

// SpecName is a spec's text without the device container the framework
// put around it.
func SpecName(r types.SpecReport) string {
	parts := append([]string(nil), r.ContainerHierarchyTexts...)
	if len(parts) > 0 {
		parts = parts[1:]
	}
	parts = append(parts, r.LeafNodeText)
	return strings.Join(parts, " ")
}

// listDevice is the one container of a spec listing (wmpf-hil run's dry run).
const listDevice = "(list)"

// buildTree puts every registered container inside one ordered container
// per device, so that a device's cells run one after another on one
// process while other devices' run on others.
func buildTree(devices []string) {
	for _, name := range devices {
		ginkgo.Describe(name, ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
			ginkgo.BeforeEach(func() { beginCell(name) })
			for _, r := range registry {
				ginkgo.Describe(r.text, r.args...)
			}
		})
	}
}
