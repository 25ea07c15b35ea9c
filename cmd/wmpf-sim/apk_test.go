package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/simulator/build"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAPKCommandWritesASignedSimulatedBuild(t *testing.T) {
	dir := t.TempDir()
	apk, key := filepath.Join(dir, "slow.apk"), filepath.Join(dir, "keys", "k.pem")
	code, out, errs := runCLI("apk", "-o", apk, "-key", key, "-version", "1.5.1-slow", "-version-code", "151",
		"-defect", "slow-launch", "-timing", "appHandle=lognormal(30ms, 90ms)", "-notes", "rehearsal")
	if code != 0 || !strings.HasPrefix(out, "APK "+apk+" package=com.example.voipdevice versionName=1.5.1-slow versionCode=151 defects=slow-launch ") {
		t.Fatalf("wmpf-sim apk: %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(key); err != nil {
		t.Errorf("the key file was not made: %v", err)
	}
	if b, err := exec.Command("apksigner", "verify", apk).CombinedOutput(); err != nil {
		t.Errorf("apksigner verify: %v %s", err, b)
	}
	b, err := exec.Command("aapt", "dump", "badging", apk).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "package: name='com.example.voipdevice' versionCode='151' versionName='1.5.1-slow'") {
		t.Errorf("aapt dump badging: %v %s", err, b)
	}
	// The profile's timing, overridden by -timing.
	code, _, errs = runCLI("apk", "-o", filepath.Join(dir, "tv.apk"), "-key", key, "-version", "2", "-profile", "tv",
		"-profiles", filepath.Join("..", "..", "fixtures", "profiles"), "-timing", "joinRoom=1s")
	if code != 0 {
		t.Fatalf("-profile tv: %d %q", code, errs)
	}
	spec := readSpec(t, filepath.Join(dir, "tv.apk"))
	if spec.Timing["mpColdStart"] != "lognormal(2100ms, 3000ms)" || spec.Timing["joinRoom"] != "1s" || spec.Timing["boot"] != "" {
		t.Errorf("timing of -profile tv: %v", spec.Timing)
	}
}

func readSpec(t *testing.T, apk string) *build.Spec {
	t.Helper()
	zr, err := zip.OpenReader(apk)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open(build.SpecPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	s, err := build.ParseSpec(out)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAPKCommandRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.pem")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"apk", "-version", "1"}, "missing -o FILE"},
		{[]string{"apk", "-o", dir + "/a.apk"}, "missing -version NAME"},
		{[]string{"apk", "-o", dir + "/a.apk", "-version", "1", "-version-code", "0"}, "-version-code 0: allowed 1 or more"},
		{[]string{"apk", "-o", dir + "/a.apk", "-version", "1", "-key", key, "-defect", "fast"}, `defect "fast": allowed values are`},
		{[]string{"apk", "-o", dir + "/a.apk", "-version", "1", "-key", key, "-timing", "joinRoom"}, `-timing "joinRoom": want NAME=VALUE`},
		{[]string{"apk", "-o", dir + "/a.apk", "-version", "1", "-key", key, "-timing", "boot=1s"}, `timing "boot": allowed activation,`},
		{[]string{"apk", "-o", dir + "/a.apk", "-version", "1", "-key", key, "-package", "nodots"}, `package "nodots": allowed`},
		{[]string{"apk", "-o", dir + "/a.apk", "-version", "1", "-key", key, "-profile", "nope", "-profiles", dir}, `profile "nope"`},
	} {
		code, _, errs := runCLI(c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
