package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/report"
)

// installed builds wmpf-sim beside wmpf-hil, as go install puts them, and
// returns a PATH of just those binaries and adb: no Go, no source tree.
func installed(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	for _, pkg := range []string{".", "../wmpf-sim"} {
		build := exec.Command("go", "build", "-o", dir+"/", pkg)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	adbPath, err := exec.LookPath("adb")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(adbPath, filepath.Join(dir, "adb")); err != nil {
		t.Fatal(err)
	}
	return dir, dir
}

// inEmptyDir runs an installed command in an empty directory with PATH
// holding only the installed binaries and adb.
func inEmptyDir(ctx context.Context, path, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(path, name), args...)
	cmd.Dir = os.TempDir()
	if d, err := os.MkdirTemp("", "wmpf-hil-empty-"); err == nil {
		cmd.Dir = d
	}
	cmd.Env = []string{"PATH=" + path, "HOME=" + cmd.Dir, "TESTCONTAINERS_RYUK_DISABLED=true"}
	return cmd
}

// From an empty directory, with only adb and the installed binaries on
// PATH: wmpf-sim lists its built-in profiles, a farm's READY devices take a
// call at once, wmpf-hil runs the smoke label on its built-in farm, and
// both print their version.
func TestInstalledBinariesWorkAnywhere(t *testing.T) {
	_, path := installed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, name := range []string{"wmpf-hil", "wmpf-sim"} {
		out, err := inEmptyDir(ctx, path, name, "-version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), name+" ") {
			t.Errorf("%s -version: %q %v", name, out, err)
		}
	}
	out, err := inEmptyDir(ctx, path, "wmpf-sim", "profiles").Output()
	if err != nil || !strings.Contains(string(out), "panel") || !strings.Contains(string(out), "tv") {
		t.Errorf("wmpf-sim profiles: %q %v", out, err)
	}

	farm := inEmptyDir(ctx, path, "wmpf-sim", "farm", "-n", "2", "-port", "17300")
	stdout, _ := farm.StdoutPipe()
	if err := farm.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = farm.Process.Kill(); _ = farm.Wait() }()
	var sn, url, token string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := map[string]string{}
		for _, kv := range strings.Fields(sc.Text())[1:] {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if strings.HasPrefix(sc.Text(), "READY ") && sn == "" {
			sn = f["sn"]
		}
		if strings.HasPrefix(sc.Text(), "API ") {
			url, token = f["url"], f["token"]
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	out, err = inEmptyDir(ctx, path, "wmpf-sim", "call", "--api", url, "--token", token, "--sn", sn, "--room", "video", "--caller", "Alice").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "roomId=") {
		t.Errorf("wmpf-sim call right after READY: %q %v", out, err)
	}

	run := inEmptyDir(ctx, path, "wmpf-hil", "run", "-label-filter", "smoke", "-run-id", "smoke")
	out, err = run.CombinedOutput()
	if err != nil {
		t.Fatalf("wmpf-hil run -label-filter smoke: %v\n%s", err, tail(string(out)))
	}
	res, err := report.ReadDir(filepath.Join(run.Dir, "reports", "smoke"))
	if err != nil || res.Summarize().Passed != 4 {
		t.Errorf("the built-in farm's smoke run: %v %+v\n%s", err, res, tail(string(out)))
	}
}

// The nightly pipeline rehearsed with simulated builds: installing a good
// build is green; a build with slow-launch is red, and its failures and
// report name the build.
func TestNightlyRunInstallsTheBuildUnderTest(t *testing.T) {
	_, path := installed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	good, slow := filepath.Join(dir, "host-1.5.0.apk"), filepath.Join(dir, "host-1.5.1-slow.apk")
	for _, args := range [][]string{
		{"apk", "-o", good, "-version", "1.5.0", "-version-code", "150"},
		{"apk", "-o", slow, "-version", "1.5.1-slow", "-version-code", "151", "-defect", "slow-launch"},
	} {
		if out, err := inEmptyDir(ctx, path, "wmpf-sim", args...).CombinedOutput(); err != nil {
			t.Fatalf("wmpf-sim %v: %v\n%s", args, err, out)
		}
	}
	for _, c := range []struct {
		apk, id string
		code    int
	}{{good, "good", exitPass}, {slow, "slow", exitFailed}} {
		reports := t.TempDir()
		run := inEmptyDir(ctx, path, "wmpf-hil", "run", "-install", c.apk, "-label-filter", "latency", "-reports", reports, "-run-id", c.id)
		out, _ := run.CombinedOutput()
		if code := run.ProcessState.ExitCode(); code != c.code {
			t.Errorf("%s build: exit %d, want %d\n%s", c.id, code, c.code, tail(string(out)))
		}
		runDir := filepath.Join(reports, c.id)
		res, err := report.ReadDir(runDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.MergedDevices() {
			if d.Install == nil || d.Install.VersionName == "" || d.Install.SHA256 == "" || d.HostVersionName != d.Install.VersionName {
				t.Errorf("%s build: device %s has no install record: %+v", c.id, d.Name, d.Install)
			}
		}
		if c.code != exitFailed {
			continue
		}
		page, _ := os.ReadFile(filepath.Join(runDir, report.HTMLFile))
		junit, _ := os.ReadFile(filepath.Join(runDir, report.JUnitFile))
		for _, doc := range []struct {
			name string
			data []byte
		}{{"summary", out}, {"report.html", page}, {"junit.xml", junit}} {
			if !strings.Contains(string(doc.data), "1.5.1-slow") {
				t.Errorf("%s does not name the build under test 1.5.1-slow", doc.name)
			}
		}
	}
}
