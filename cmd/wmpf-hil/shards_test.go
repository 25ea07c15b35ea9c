package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/fixtures"
	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/harness/report"
	"github.com/wmpf-hil/wmpf-hil/internal/hilimage"
	"github.com/wmpf-hil/wmpf-hil/simulator/simtest"
)

// The sharded run rehearsed with Docker, as deploy/kubernetes runs it: two
// shard runners in containers of the wmpf-hil image (FROM scratch, nothing
// pulled) with the shard Job's arguments and JOB_COMPLETION_INDEX set as
// the Job controller sets it, on the host's network so that every packet
// stays on 127.0.0.1. Their simulated devices run inside the containers;
// ONE adb server on the host, which neither started, connects to them. The
// shards write to a host folder mounted as the Job's volume; the merge
// Job's wait script and its merge then run on the host. The merged run has
// exactly the cells of one run of the same farm without shards, the shards'
// folders are not changed by merging, and a missing shard fails the merge.
func TestShardsInContainersMergeIntoOneRun(t *testing.T) {
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	const shards, runID, labels = 2, "rehearsal", "smoke"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()

	var img *hilimage.Image
	var imgErr error
	built := make(chan struct{})
	go func() {
		defer close(built)
		// A tag of this test's own: another tree's build of the default
		// tag cannot swap the image under it.
		img, imgErr = hilimage.Build(ctx, hilimage.Options{Root: root(t), Tag: fmt.Sprintf("wmpf-hil/wmpf-hil:rehearsal-%d", os.Getpid())})
	}()
	srv := simtest.ADBServer(t)
	farmFile := defaultFarmOn(t, "tcp:"+srv.Addr())
	base := t.TempDir()
	volume := filepath.Join(base, "volume") // the Job's /reports
	if err := os.MkdirAll(volume, 0o777); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		// The image's own user (65534) writes the volume; root cleans up.
		if err := os.Chmod(volume, 0o777); err != nil {
			t.Fatal(err)
		}
	} else {
		user = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	}

	// One run of the same farm without shards, on the host, while the
	// image builds.
	single := filepath.Join(base, "single")
	singleRun := exec.CommandContext(ctx, bin, "run", "-devices", farmFile, "-reports", single, "-run-id", "single", "-label-filter", labels)
	singleOut, singleErr := make(chan []byte, 1), make(chan error, 1)
	go func() {
		out, err := singleRun.CombinedOutput()
		singleOut <- out
		singleErr <- err
	}()

	<-built
	if imgErr != nil {
		t.Fatal(imgErr)
	}
	t.Logf("image %s: go build %v, docker build %v", img.Tag, img.Compile.Round(time.Millisecond), img.Build.Round(time.Millisecond))
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The image goes after the containers (cleanups run last in, first out).
	t.Cleanup(func() {
		_, _ = docker.ImageRemove(context.Background(), img.Tag, client.ImageRemoveOptions{PruneChildren: true})
		docker.Close()
	})

	var wg sync.WaitGroup
	exits := make([]int, shards)
	logs := make([]string, shards)
	for i := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exits[i], logs[i] = runShard(ctx, t, img.Tag, user, farmFile, volume, shardArgs(t, runID, i, shards, "-label-filter="+labels), i)
		}()
	}
	wg.Wait()
	if err := <-singleErr; err != nil {
		t.Fatalf("the run without shards: %v\n%s", err, tail(string(<-singleOut)))
	}
	for i, code := range exits {
		if code != 0 {
			t.Fatalf("shard %d exited %d:\n%s", i, code, tail(logs[i]))
		}
	}
	t.Logf("shards and the single run done %v after the test began", time.Since(began).Round(100*time.Millisecond))

	// The shards: each brought up its own devices, through the host's adb
	// server, on 127.0.0.1.
	runDir := filepath.Join(volume, runID)
	var folders []string
	owner := map[string]int{}
	for i := range shards {
		dir := filepath.Join(runDir, "shard-"+strconv.Itoa(i))
		folders = append(folders, dir)
		res, err := report.ReadDir(dir)
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		if s := res.Run.Shard; s == nil || s.Index != i+1 || s.Count != shards {
			t.Errorf("shard %d's run record says shard %+v, want %d/%d (from JOB_COMPLETION_INDEX)", i, res.Run.Shard, i+1, shards)
		}
		var shared struct {
			Farm struct {
				WeChat struct {
					URL string `json:"url"`
				} `json:"wechat"`
			} `json:"farm"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, "farm.json")); err != nil || json.Unmarshal(b, &shared) != nil ||
			!strings.HasPrefix(shared.Farm.WeChat.URL, "http://127.0.0.1:") {
			t.Errorf("shard %d: the WeChat side it started is at %q (%v); want one on 127.0.0.1", i, shared.Farm.WeChat.URL, err)
		}
		for _, d := range res.Devices {
			if d.Server != srv.Addr() || !strings.HasPrefix(d.Serial, "127.0.0.1:") {
				t.Errorf("shard %d device %s: server %s serial %s; want the host's server %s and a device on 127.0.0.1", i, d.Name, d.Server, d.Serial, srv.Addr())
			}
			owner[d.Name] = i
		}
	}
	if len(owner) != 4 {
		t.Errorf("the shards brought up %d devices (%v); the farm has 4", len(owner), owner)
	}
	// The server the shards did not start is still there, and each run
	// disconnected the devices it connected.
	select {
	case <-srv.Exited():
		t.Fatal("the host's adb server exited")
	default:
	}
	if left, err := adb.NewClient(srv.Addr()).Devices(ctx); err != nil || len(left) != 0 {
		t.Errorf("devices left on the host's adb server after the runs: %v %v", left, err)
	}

	// The merge Job: its wait ends at once, then its merge.
	before := hashTree(t, runDir)
	for i := range shards {
		if _, ok := before[filepath.Join("shard-"+strconv.Itoa(i), report.ResultsFile)]; !ok {
			t.Fatalf("no results of shard %d among the %d files hashed", i, len(before))
		}
	}
	wcmd := waitScript(t, volume, runID, shards, 60)
	if out, err := wcmd.CombinedOutput(); err != nil || !strings.Contains(string(out), fmt.Sprintf("%d of %d shards finished", shards, shards)) {
		t.Errorf("wait-for-shards over the finished shards: %v\n%s", err, out)
	}
	margs := mergeArgs(t, runID, shards, volume)
	out, err := exec.CommandContext(ctx, bin, margs...).CombinedOutput()
	if err != nil {
		t.Fatalf("wmpf-hil %s: %v\n%s", strings.Join(margs, " "), err, out)
	}
	merged, _ := flagValue(margs, "o")

	// The same cells as the run without shards, in every format.
	want := cellNames(t, filepath.Join(single, "single"))
	got := cellNames(t, merged)
	for format, names := range want {
		if len(names) != 4 {
			t.Errorf("the run without shards: %d %s cells (%v); want 4, one per device", len(names), format, names)
		}
		if !slices.Equal(got[format], names) {
			t.Errorf("%s: merged cells %v\nwant the run's without shards %v", format, got[format], names)
		}
	}
	t.Logf("%d cells in both, e.g. %q; %d files of the shards hashed", len(want["results.jsonl"]), want["results.jsonl"][0], len(before))
	res, err := report.ReadDir(merged)
	if err != nil || res.End == nil || res.End.ExitCode != 0 || len(res.Shards) != shards {
		t.Errorf("merged run: %v; end %+v, shards %+v", err, res.End, res.Shards)
	}

	// A missing shard fails the merge: without -allow-partial it writes
	// nothing (exit 4); with it, as the merge Job runs, the report names
	// the shard and the run cannot pass (exit 3).
	partial := exec.CommandContext(ctx, bin, "merge", "-o", filepath.Join(base, "partial"), folders[0])
	out, _ = partial.CombinedOutput()
	if code := partial.ProcessState.ExitCode(); code != exitPartial || !strings.Contains(string(out), "shard 2 of 2 missing") {
		t.Errorf("merge of shard 1 alone: exit %d, want %d naming shard 2:\n%s", code, exitPartial, out)
	}
	if _, err := os.Stat(filepath.Join(base, "partial")); err == nil {
		t.Errorf("a refused merge wrote its output folder")
	}
	jobArgs := mergeArgs(t, runID, 1, volume)
	jobArgs[slices.IndexFunc(jobArgs, func(a string) bool { return strings.HasPrefix(a, "-o=") })] = "-o=" + filepath.Join(base, "allowed")
	allowed := exec.CommandContext(ctx, bin, jobArgs...)
	out, _ = allowed.CombinedOutput()
	if code := allowed.ProcessState.ExitCode(); code != exitInfra || !strings.Contains(string(out), "shard 2 missing") {
		t.Errorf("the merge Job's merge with shard 2 missing: exit %d, want %d naming it:\n%s", code, exitInfra, out)
	}

	if after := hashTree(t, runDir); !equalTrees(before, after, "merged") {
		t.Errorf("merging changed the shards' folders:\nbefore %v\nafter  %v", before, after)
	}
	t.Logf("rehearsal done in %v", time.Since(began).Round(100*time.Millisecond))
}

// defaultFarmOn writes the built-in default farm (its simulated devices
// and WeChat side) with its adb server replaced by the one at address.
func defaultFarmOn(t *testing.T, address string) string {
	t.Helper()
	data, err := fixtures.Read(fixtures.DefaultFarmFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["simulated"]; !ok {
		t.Fatalf("the default farm has no simulated devices: %v", doc)
	}
	doc["adbServers"] = []map[string]any{{"name": "lab", "address": address}}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "devices.yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runShard runs one shard's container to its end, as shard index's pod of
// the Indexed Job: the farm file where the ConfigMap is mounted, volume
// where the claim is, host networking. It returns the exit status and the
// container's output.
func runShard(ctx context.Context, t *testing.T, image, user, farmFile, volume string, args []string, index int) (int, string) {
	devices, _ := flagValue(args, "devices")
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: image,
			Cmd:   args,
			User:  user,
			Env: map[string]string{
				"JOB_COMPLETION_INDEX": strconv.Itoa(index),
				"RUN_ID":               "rehearsal",
				"SHARD_INDEX":          strconv.Itoa(index),
			},
			Labels: map[string]string{"wmpf-hil.test": "shards"},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.NetworkMode = "host"
				hc.Binds = []string{farmFile + ":" + devices + ":ro", volume + ":/reports"}
			},
			WaitingFor: wait.ForExit().WithExitTimeout(4 * time.Minute),
		},
		Started: true,
	})
	if ctr != nil {
		t.Cleanup(func() { _ = ctr.Terminate(context.Background()) })
	}
	if err != nil {
		return -1, fmt.Sprintf("shard %d: %v", index, err)
	}
	st, err := ctr.State(ctx)
	if err != nil {
		return -1, fmt.Sprintf("shard %d: %v", index, err)
	}
	var out string
	if r, err := ctr.Logs(ctx); err == nil {
		b, _ := io.ReadAll(r)
		out = string(b)
	}
	return st.ExitCode, out
}

// cellNames are a run folder's cell names ("spec [device]"), sorted, as
// results.jsonl, junit.xml and ctrf.json give them.
func cellNames(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	res, err := report.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells() {
		out["results.jsonl"] = append(out["results.jsonl"], c.TestName())
	}
	var junit struct {
		Suites []struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(filepath.Join(dir, report.JUnitFile))
	if err != nil || xml.Unmarshal(b, &junit) != nil {
		t.Fatalf("%s: %v", filepath.Join(dir, report.JUnitFile), err)
	}
	for _, s := range junit.Suites {
		for _, c := range s.Cases {
			out["junit.xml"] = append(out["junit.xml"], c.Name)
		}
	}
	var ctrf struct {
		Results struct {
			Tests []struct {
				Name string `json:"name"`
			} `json:"tests"`
		} `json:"results"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "ctrf.json"))
	if err != nil || json.Unmarshal(b, &ctrf) != nil {
		t.Fatalf("%s: %v", filepath.Join(dir, "ctrf.json"), err)
	}
	for _, c := range ctrf.Results.Tests {
		out["ctrf.json"] = append(out["ctrf.json"], c.Name)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// hashTree is every file and folder under dir: its mode, size and sha256.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			out[rel] = info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = fmt.Sprintf("%s %d %s", info.Mode(), info.Size(), hex.EncodeToString(sum[:]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// equalTrees compares two hashTrees, leaving out what is under skip (the
// merged folder, which did not exist before).
func equalTrees(a, b map[string]string, skip string) bool {
	keep := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if k != skip && !strings.HasPrefix(k, skip+string(filepath.Separator)) && k != "." {
				out[k] = v
			}
		}
		return out
	}
	ka, kb := keep(a), keep(b)
	if len(ka) != len(kb) {
		return false
	}
	for k, v := range ka {
		if kb[k] != v {
			return false
		}
	}
	return true
}
