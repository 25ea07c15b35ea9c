package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wmpf-hil/wmpf-hil/harness/farm"
	"github.com/wmpf-hil/wmpf-hil/simulator/provider"
)

// The subset of the Kubernetes API that deploy/kubernetes uses, decoded
// with unknown fields refused, so that a misspelt field name fails here
// rather than being dropped by the API server (or, with kubectl's client
// side validation off, silently ignored).

type k8sMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type k8sJob struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   k8sMeta    `yaml:"metadata"`
	Spec       k8sJobSpec `yaml:"spec"`
}

type k8sJobSpec struct {
	CompletionMode        string `yaml:"completionMode"`
	Completions           *int   `yaml:"completions"`
	Parallelism           *int   `yaml:"parallelism"`
	BackoffLimit          *int   `yaml:"backoffLimit"`
	BackoffLimitPerIndex  *int   `yaml:"backoffLimitPerIndex"`
	ActiveDeadlineSeconds int    `yaml:"activeDeadlineSeconds"`
	PodFailurePolicy      *struct {
		Rules []struct {
			Action      string `yaml:"action"`
			OnExitCodes *struct {
				ContainerName string `yaml:"containerName"`
				Operator      string `yaml:"operator"`
				Values        []int  `yaml:"values"`
			} `yaml:"onExitCodes"`
		} `yaml:"rules"`
	} `yaml:"podFailurePolicy"`
	Template struct {
		Metadata k8sMeta    `yaml:"metadata"`
		Spec     k8sPodSpec `yaml:"spec"`
	} `yaml:"template"`
}

type k8sPodSpec struct {
	RestartPolicy   string         `yaml:"restartPolicy"`
	SecurityContext map[string]any `yaml:"securityContext"`
	InitContainers  []k8sContainer `yaml:"initContainers"`
	Containers      []k8sContainer `yaml:"containers"`
	Volumes         []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		EmptyDir map[string]any `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type k8sContainer struct {
	Name            string         `yaml:"name"`
	Image           string         `yaml:"image"`
	Command         []string       `yaml:"command"`
	Args            []string       `yaml:"args"`
	Env             []k8sEnv       `yaml:"env"`
	Resources       map[string]any `yaml:"resources"`
	SecurityContext map[string]any `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type k8sEnv struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		ConfigMapKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"configMapKeyRef"`
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type k8sPVC struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
	Spec       struct {
		AccessModes      []string `yaml:"accessModes"`
		StorageClassName string   `yaml:"storageClassName"`
		Resources        struct {
			Requests map[string]string `yaml:"requests"`
		} `yaml:"resources"`
	} `yaml:"spec"`
}

type kustomization struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Labels     []struct {
		Pairs            map[string]string `yaml:"pairs"`
		IncludeTemplates bool              `yaml:"includeTemplates"`
	} `yaml:"labels"`
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name     string   `yaml:"name"`
		Files    []string `yaml:"files"`
		Literals []string `yaml:"literals"`
	} `yaml:"configMapGenerator"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

func deployDir(t *testing.T) string { return filepath.Join(root(t), "deploy", "kubernetes") }

// decodeStrict decodes every document of a YAML file into a new T,
// refusing unknown fields.
func decodeStrict[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var out []T
	for {
		var v T
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no YAML document", filepath.Base(path))
	}
	return out
}

func loadJob(t *testing.T, file string) k8sJob {
	t.Helper()
	docs := decodeStrict[k8sJob](t, filepath.Join(deployDir(t), file))
	if len(docs) != 1 || docs[0].APIVersion != "batch/v1" || docs[0].Kind != "Job" {
		t.Fatalf("%s: want one batch/v1 Job, got %d documents, the first %s %s", file, len(docs), docs[0].APIVersion, docs[0].Kind)
	}
	return docs[0]
}

// container is the named container (or init container) of a Job's pod.
func (j k8sJob) container(t *testing.T, name string) k8sContainer {
	t.Helper()
	for _, c := range append(j.Spec.Template.Spec.InitContainers, j.Spec.Template.Spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Job %s has no container %s", j.Metadata.Name, name)
	return k8sContainer{}
}

// flag is the value of -name=value among args, and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// env is a container's variable by name.
func (c k8sContainer) env(name string) (k8sEnv, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return k8sEnv{}, false
}

// mountOf is the volume mounted at the longest mount path that is a
// prefix of path, and that mount path.
func (j k8sJob) mountOf(c k8sContainer, path string) (volume, mountPath string) {
	for _, m := range c.VolumeMounts {
		if (path == m.MountPath || strings.HasPrefix(path, m.MountPath+"/")) && len(m.MountPath) > len(mountPath) {
			volume, mountPath = m.Name, m.MountPath
		}
	}
	return volume, mountPath
}

// k8sExpand expands $(VAR) references as the kubelet does in a
// container's command and args: a defined variable's value, $$ for a
// literal $, an undefined reference left as it is.
func k8sExpand(s string, vars map[string]string) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			out.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			out.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				out.WriteString(s[i:])
				return out.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				out.WriteString(v)
			} else {
				out.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			out.WriteByte('$')
		}
	}
	return out.String()
}

func TestK8sExpand(t *testing.T) {
	vars := map[string]string{"RUN_ID": "nightly", "I": "3"}
	for in, want := range map[string]string{
		"-reports=/reports/$(RUN_ID)": "-reports=/reports/nightly",
		"shard-$(I)-$(I)":             "shard-3-3",
		"$(UNSET) stays":              "$(UNSET) stays",
		"$$(RUN_ID) is escaped":       "$(RUN_ID) is escaped",
		"a $HOME and $((1+2))":        "a $HOME and $((1+2))",
		"trailing $":                  "trailing $",
	} {
		if got := k8sExpand(in, vars); got != want {
			t.Errorf("k8sExpand(%q) = %q, want %q", in, got, want)
		}
	}
}

// shardArgs are the shard container's arguments for shard index i of n,
// as the kubelet would expand them, with extra appended.
func shardArgs(t *testing.T, runID string, index, n int, extra ...string) []string {
	t.Helper()
	c := loadJob(t, "job-shards.yaml").container(t, "wmpf-hil")
	vars := map[string]string{"RUN_ID": runID, "SHARD_INDEX": strconv.Itoa(index), "JOB_COMPLETION_INDEX": strconv.Itoa(index)}
	var args []string
	for _, a := range c.Args {
		if _, ok := flagValue([]string{a}, "shard-count"); ok {
			a = fmt.Sprintf("-shard-count=%d", n)
		}
		args = append(args, k8sExpand(a, vars))
	}
	return append(args, extra...)
}

// mergeArgs are the merge container's arguments for a run of n shards,
// expanded, with the paths under /reports moved to reports.
func mergeArgs(t *testing.T, runID string, n int, reports string) []string {
	t.Helper()
	c := loadJob(t, "job-merge.yaml").container(t, "merge")
	folder := regexp.MustCompile(`/shard-(\d+)$`)
	var args []string
	for _, a := range c.Args {
		a = k8sExpand(a, map[string]string{"RUN_ID": runID})
		if m := folder.FindStringSubmatch(a); m != nil {
			if k, _ := strconv.Atoi(m[1]); k >= n {
				continue
			}
		}
		a = strings.Replace(a, "/reports/", reports+"/", 1)
		args = append(args, a)
	}
	return args
}

// The manifests: valid YAML with no unknown field, an Indexed Job whose
// pods run `wmpf-hil run -shard-count N` with N its completions, reading
// the farm from the ConfigMap and writing to the volume; a merge Job over
// exactly those N folders; and a kustomization that makes what they name.
func TestKubernetesManifests(t *testing.T) {
	dir := deployDir(t)
	k := decodeStrict[kustomization](t, filepath.Join(dir, "kustomization.yaml"))[0]
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: %s %s", k.APIVersion, k.Kind)
	}
	entries, _ := os.ReadDir(dir)
	var yamls []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			yamls = append(yamls, e.Name())
		}
	}
	configMaps := map[string][]string{} // name → files and literals
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("configMapGenerator %s: %v", g.Name, err)
			}
		}
		configMaps[g.Name] = append(append([]string(nil), g.Files...), g.Literals...)
	}
	// Every file is a resource, a generator's input, or the kustomization.
	for _, f := range yamls {
		if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) && !slices.Contains(configMaps["wmpf-hil-farm"], f) {
			t.Errorf("%s is neither a resource of kustomization.yaml nor a ConfigMap's file", f)
		}
	}
	if len(k.Images) != 1 || k.Images[0].Name != "wmpf-hil" || len(k.Labels) == 0 || !k.Labels[0].IncludeTemplates {
		t.Errorf("kustomization.yaml: images %+v, labels %+v; want the wmpf-hil image and labels on the pods", k.Images, k.Labels)
	}
	pvc := decodeStrict[k8sPVC](t, filepath.Join(dir, "pvc.yaml"))[0]
	if pvc.Kind != "PersistentVolumeClaim" || !slices.Equal(pvc.Spec.AccessModes, []string{"ReadWriteMany"}) {
		t.Errorf("pvc.yaml: %s %v; want a ReadWriteMany claim (shards on several nodes write at once)", pvc.Kind, pvc.Spec.AccessModes)
	}

	// The shards.
	shards := loadJob(t, "job-shards.yaml")
	s := shards.Spec
	if s.CompletionMode != "Indexed" || s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("job-shards.yaml: completionMode %q, completions %s, parallelism %s; want Indexed with every shard at once",
			s.CompletionMode, intText(s.Completions), intText(s.Parallelism))
	}
	n := *s.Completions
	if s.Template.Spec.RestartPolicy != "Never" || s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 0 {
		t.Errorf("job-shards.yaml: restartPolicy %q, backoffLimitPerIndex %s; want Never and 0 (a shard's folder cannot be run again)",
			s.Template.Spec.RestartPolicy, intText(s.BackoffLimitPerIndex))
	}
	failJobOn2 := false
	if s.PodFailurePolicy != nil {
		for _, r := range s.PodFailurePolicy.Rules {
			if r.Action == "FailJob" && r.OnExitCodes != nil && r.OnExitCodes.ContainerName == "wmpf-hil" &&
				r.OnExitCodes.Operator == "In" && slices.Equal(r.OnExitCodes.Values, []int{exitBadInput}) {
				failJobOn2 = true
			}
		}
	}
	if !failJobOn2 {
		t.Errorf("job-shards.yaml: no podFailurePolicy rule failing the Job on exit status %d (bad input)", exitBadInput)
	}
	c := shards.container(t, "wmpf-hil")
	if c.Image != k.Images[0].Name || len(c.Args) == 0 || c.Args[0] != "run" {
		t.Errorf("shard container: image %q, args %v; want image wmpf-hil running `run`", c.Image, c.Args)
	}
	if v, _ := flagValue(c.Args, "shard-count"); v != strconv.Itoa(n) {
		t.Errorf("shard container: -shard-count=%q, want %d (the Job's completions)", v, n)
	}
	for _, a := range c.Args {
		if strings.HasPrefix(a, "-shard=") || a == "-shard" {
			t.Errorf("shard container: %s would override JOB_COMPLETION_INDEX", a)
		}
	}
	for _, e := range c.Env {
		if e.Name == "WMPF_HIL_SHARD" || e.Name == "JOB_COMPLETION_INDEX" {
			t.Errorf("shard container: env %s: the Job controller sets JOB_COMPLETION_INDEX, and WMPF_HIL_SHARD would override it", e.Name)
		}
	}
	if e, ok := c.env("SHARD_INDEX"); !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
		e.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("shard container: SHARD_INDEX %+v; want the pod's job-completion-index annotation", e)
	}
	for _, job := range []k8sJob{shards, loadJob(t, "job-merge.yaml")} {
		for _, ct := range append(job.Spec.Template.Spec.InitContainers, job.Spec.Template.Spec.Containers...) {
			e, ok := ct.env("RUN_ID")
			if !ok || e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil || e.ValueFrom.ConfigMapKeyRef.Name != "wmpf-hil-run" ||
				!slices.Contains(configMaps["wmpf-hil-run"], e.ValueFrom.ConfigMapKeyRef.Key+"=nightly") {
				t.Errorf("%s/%s: RUN_ID %+v; want it from the generated ConfigMap wmpf-hil-run", job.Metadata.Name, ct.Name, e)
			}
		}
	}
	devices, _ := flagValue(c.Args, "devices")
	if vol, at := shards.mountOf(c, devices); vol == "" || filepath.Join(at, "devices.yaml") != devices || !volumeIs(shards, vol, "configMap", "wmpf-hil-farm") {
		t.Errorf("shard container: -devices=%s is not devices.yaml of the ConfigMap wmpf-hil-farm's volume", devices)
	}
	reports, _ := flagValue(c.Args, "reports")
	if vol, _ := shards.mountOf(c, reports); !volumeIs(shards, vol, "pvc", pvc.Metadata.Name) {
		t.Errorf("shard container: -reports=%s is not on the claim %s", reports, pvc.Metadata.Name)
	}
	if vol, _ := shards.mountOf(c, "/tmp"); !volumeIs(shards, vol, "emptyDir", "") {
		t.Errorf("shard container: /tmp is not an emptyDir (the root file system is read-only)")
	}
	runID, _ := flagValue(c.Args, "run-id")
	if runID != "shard-$(SHARD_INDEX)" || reports != "/reports/$(RUN_ID)" {
		t.Errorf("shard container: -reports=%s -run-id=%s; want /reports/$(RUN_ID) and shard-$(SHARD_INDEX), which the merge lists", reports, runID)
	}

	// The merge.
	merge := loadJob(t, "job-merge.yaml")
	if merge.Spec.BackoffLimit == nil || *merge.Spec.BackoffLimit != 0 || merge.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("job-merge.yaml: backoffLimit %s, restartPolicy %q; want 0 and Never (its exit status is the verdict)",
			intText(merge.Spec.BackoffLimit), merge.Spec.Template.Spec.RestartPolicy)
	}
	if merge.Spec.ActiveDeadlineSeconds <= s.ActiveDeadlineSeconds {
		t.Errorf("job-merge.yaml: activeDeadlineSeconds %d, not above the shards' %d", merge.Spec.ActiveDeadlineSeconds, s.ActiveDeadlineSeconds)
	}
	mc := merge.container(t, "merge")
	var folders []string
	for _, a := range mc.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			folders = append(folders, a)
		}
	}
	var want []string
	for i := range n {
		want = append(want, k8sExpand(reports+"/"+runID, map[string]string{"SHARD_INDEX": strconv.Itoa(i)}))
	}
	if mc.Args[0] != "merge" || !slices.Equal(folders, want) {
		t.Errorf("merge container: args %v; want merge over %v (the folders of the %d shards)", mc.Args, want, n)
	}
	if o, _ := flagValue(mc.Args, "o"); !strings.HasPrefix(o, "/reports/$(RUN_ID)/") || slices.Contains(want, o) {
		t.Errorf("merge container: -o=%s; want a folder of its own beside the shards'", o)
	}
	w := merge.container(t, "wait-for-shards")
	if e, _ := w.env("SHARDS"); e.Value != strconv.Itoa(n) {
		t.Errorf("wait-for-shards: SHARDS=%q, want %d", e.Value, n)
	}
	if e, _ := w.env("WAIT_SECONDS"); e.Value == "" || mustAtoi(t, e.Value) <= s.ActiveDeadlineSeconds || mustAtoi(t, e.Value) >= merge.Spec.ActiveDeadlineSeconds {
		t.Errorf("wait-for-shards: WAIT_SECONDS=%q; want more than the shards' deadline %d and less than the merge's %d",
			e.Value, s.ActiveDeadlineSeconds, merge.Spec.ActiveDeadlineSeconds)
	}
	for _, job := range []k8sJob{shards, merge} {
		for _, v := range job.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != pvc.Metadata.Name {
				t.Errorf("%s: volume %s claims %q; the claim is %s", job.Metadata.Name, v.Name, v.PersistentVolumeClaim.ClaimName, pvc.Metadata.Name)
			}
			if v.ConfigMap != nil {
				if _, ok := configMaps[v.ConfigMap.Name]; !ok {
					t.Errorf("%s: volume %s names ConfigMap %q, which the kustomization does not make", job.Metadata.Name, v.Name, v.ConfigMap.Name)
				}
			}
		}
	}

	// Every flag the containers give, the commands take.
	for cmd, args := range map[string][]string{"run": c.Args[1:], "merge": mc.Args[1:]} {
		help, _ := exec.Command(bin, cmd, "-h").CombinedOutput()
		for _, a := range args {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
			if strings.HasPrefix(a, "-") && !regexp.MustCompile(`(?m)^\s+-`+regexp.QuoteMeta(name)+`\b`).Match(help) {
				t.Errorf("%s container: flag %s is not a flag of wmpf-hil %s:\n%s", cmd, a, cmd, help)
			}
		}
	}

	// The farm of the ConfigMap: valid, and every shard gets devices.
	provider.Register()
	cfg, err := farm.Load(filepath.Join(dir, "devices.yaml"))
	if err != nil {
		t.Fatalf("devices.yaml: %v", err)
	}
	seen := map[string]int{}
	for i := 1; i <= n; i++ {
		names := cfg.ShardDevices(farm.Shard{Index: i, Count: n})
		if len(names) == 0 {
			t.Errorf("devices.yaml: shard %d/%d has no device (the run would exit %d and fail the Job)", i, n, exitBadInput)
		}
		for _, d := range names {
			seen[d]++
		}
	}
	if len(seen) != cfg.DeviceCount() {
		t.Errorf("devices.yaml: the %d shards cover %d of %d devices", n, len(seen), cfg.DeviceCount())
	}
}

func volumeIs(j k8sJob, name, kind, want string) bool {
	for _, v := range j.Spec.Template.Spec.Volumes {
		if v.Name != name {
			continue
		}
		switch kind {
		case "configMap":
			return v.ConfigMap != nil && v.ConfigMap.Name == want
		case "pvc":
			return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == want
		case "emptyDir":
			return v.EmptyDir != nil
		}
	}
	return false
}

// intText is an optional field's value, or "unset".
func intText(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: not a number", s)
	}
	return n
}

// waitScript is the merge Job's wait-for-shards script as a command of
// this host's sh (POSIX, as busybox's), over reports.
func waitScript(t *testing.T, reports, runID string, shards, waitSeconds int) *exec.Cmd {
	t.Helper()
	w := loadJob(t, "job-merge.yaml").container(t, "wait-for-shards")
	if len(w.Command) != 3 || w.Command[0] != "sh" || w.Command[1] != "-c" {
		t.Fatalf("wait-for-shards: command %q; want sh -c SCRIPT", w.Command)
	}
	cmd := exec.Command("sh", "-c", k8sExpand(w.Command[2], nil))
	cmd.Env = append(os.Environ(), "RUN_ID="+runID, "REPORTS="+reports, "SHARDS="+strconv.Itoa(shards),
		"WAIT_SECONDS="+strconv.Itoa(waitSeconds), "POLL_SECONDS=1")
	return cmd
}

// The wait-for-shards script: it ends at once when every shard has its end
// record, waits while one has not, ends when it comes, and gives up after
// WAIT_SECONDS so that the merge names a crashed shard.
func TestMergeWaitsForEveryShard(t *testing.T) {
	reports := t.TempDir()
	shard := func(i int, records ...string) string {
		d := filepath.Join(reports, "nightly", fmt.Sprintf("shard-%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, "results.jsonl")
		if err := os.WriteFile(p, []byte(strings.Join(records, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := `{"kind":"run","schema":1,"run":{"id":"shard-0"}}`
	end := `{"kind":"end","end":{"verdict":"PASS","exitCode":0}}`
	shard(0, run, end)
	second := shard(1, run, `{"kind":"spec","spec":{"name":"x","state":"passed"}}`)

	out, err := waitScript(t, reports, "nightly", 1, 60).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 of 1 shards finished") {
		t.Errorf("one finished shard of one: %v\n%s", err, out)
	}
	t0 := time.Now()
	out, err = waitScript(t, reports, "nightly", 3, 2).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 of 3 shards finished") || !strings.Contains(string(out), "merging what there is") ||
		time.Since(t0) < 2*time.Second {
		t.Errorf("shard 1 unfinished and shard 2 absent, WAIT_SECONDS=2: after %v: %v\n%s", time.Since(t0), err, out)
	}

	// Shard 1 ends while the script waits: once it has said so.
	cmd := waitScript(t, reports, "nightly", 2, 60)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "run nightly: 1 of 2 shards finished" && len(lines) == 1 {
			f, err := os.OpenFile(second, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(f, end)
			f.Close()
		}
	}
	err = cmd.Wait()
	if err != nil || len(lines) < 2 || lines[len(lines)-1] != "run nightly: 2 of 2 shards finished" {
		t.Errorf("shard 1 ending during the wait: %v\n%s", err, strings.Join(lines, "\n"))
	}
}
