package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wmpf-hil/wmpf-hil/harness/framework"
)

// specInfo is a spec the run will run.
type specInfo struct {
	Name   string
	Labels []string
}

// listSpecs asks a worker for the specs that the label filter selects: a
// Ginkgo dry run of the suites, which runs no spec.
func (r *run) listSpecs(ctx context.Context) ([]specInfo, error) {
	dir, err := os.MkdirTemp("", "wmpf-hil-list-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "specs.json")
	args := append(append([]string(nil), r.opts.Worker[1:]...), "-worker-plan", framework.ListPlan, "--ginkgo.dry-run",
		"--ginkgo.no-color", "--ginkgo.silence-skips", "--ginkgo.json-report="+out)
	if r.opts.Labels != "" {
		args = append(args, "--ginkgo.label-filter="+r.opts.Labels)
	}
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(lctx, r.opts.Worker[0], args...)
	cmd.SysProcAttr = workerAttrs() // dies with the supervisor, like every worker
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	runErr := cmd.Run()
	data, err := os.ReadFile(out)
	if err != nil {
		if bytes.Contains(stderr.Bytes(), []byte("label-filter")) || bytes.Contains(stderr.Bytes(), []byte("Label Filter")) {
			return nil, fmt.Errorf("%w: -label-filter %q: %s", ErrBadInput, r.opts.Labels, lastLines(stderr.String(), 6))
		}
		return nil, fmt.Errorf("listing the specs: %v: %s", runErr, lastLines(stderr.String(), 20))
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("listing the specs: %w", err)
	}
	var specs []specInfo
	seen := map[string]bool{}
	for _, rep := range reports {
		for _, s := range rep.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt || s.State != types.SpecStatePassed {
				continue
			}
			name := framework.SpecName(s)
			if seen[name] {
				continue
			}
			seen[name] = true
			specs = append(specs, specInfo{Name: name, Labels: s.Labels()})
		}
	}
	return specs, nil
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
