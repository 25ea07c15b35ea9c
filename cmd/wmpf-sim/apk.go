package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/wmpf-hil/wmpf-hil/internal/cli"
	"github.com/wmpf-hil/wmpf-hil/simulator/build"
	"github.com/wmpf-hil/wmpf-hil/simulator/profile"
)

// runAPK makes a simulated host-app build: a real, signed APK that, once
// installed on a simulated device, changes the host app's version and
// behaviour (docs/simulated-builds.md).
func runAPK(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("apk", stderr)
	out := fs.String("o", "", "the APK file to write (required)")
	version := fs.String("version", "", "android:versionName, e.g. 1.5.0-nightly (required)")
	code := fs.Int("version-code", 1, "android:versionCode (1 or more; a lower one than installed needs adb install -d)")
	pkg := fs.String("package", build.DefaultPackage, "the host app's package")
	keyFile := fs.String("key", "", "PEM file with the signing key and certificate; made there if missing (default: wmpf-hil/debug-key.pem in the user's config directory)")
	profileName := fs.String("profile", "", "take every timing of this device profile (from -profiles)")
	profilesDir := fs.String("profiles", os.Getenv("WMPF_HIL_PROFILES"), "directory of device profiles (default: $WMPF_HIL_PROFILES, else the built-in profiles)")
	notes := fs.String("notes", "", "free text kept in build.json")
	var defects, timings multiFlag
	fs.Var(&defects, "defect", "a defect this build has (repeatable): "+strings.Join(profile.DefectNames(), ", "))
	fs.Var(&timings, "timing", "a timing override NAME=VALUE (repeatable), e.g. appHandle=lognormal(30ms, 90ms); names: "+strings.Join(build.TimingNames(), ", "))
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usagef("missing -o FILE")
	}
	if *version == "" {
		return cli.Usagef("missing -version NAME")
	}
	if *code < 1 {
		return cli.Usagef("-version-code %d: allowed 1 or more", *code)
	}
	spec := build.Spec{Format: build.Format, Defects: defects, Notes: *notes, Timing: map[string]string{}}
	if *profileName != "" {
		p, err := library(*profilesDir).Find(*profileName)
		if err != nil {
			return cli.Usagef("-profile: %v", err)
		}
		for k, v := range build.TimingText(p.Timing) {
			spec.Timing[k] = v
		}
	}
	for _, t := range timings {
		name, val, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return cli.Usagef("-timing %q: want NAME=VALUE, names: %s", t, strings.Join(build.TimingNames(), ", "))
		}
		spec.Timing[strings.TrimSpace(name)] = strings.TrimSpace(val)
	}
	if len(spec.Timing) == 0 {
		spec.Timing = nil
	}
	if err := spec.Validate(); err != nil {
		return cli.UsageError{Msg: err.Error()}
	}
	kp := *keyFile
	if kp == "" {
		var err error
		if kp, err = build.DefaultKeyPath(); err != nil {
			return err
		}
	}
	key, err := build.LoadOrCreateKey(kp)
	if err != nil {
		return err
	}
	data, err := build.Make(build.Options{Package: *pkg, VersionName: *version, VersionCode: *code, Spec: spec, Key: key})
	if err != nil {
		return cli.UsageError{Msg: err.Error()}
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	ds := append([]string(nil), spec.Defects...)
	sort.Strings(ds)
	fmt.Fprintf(stdout, "APK %s package=%s versionName=%s versionCode=%d defects=%s size=%d signer=%s\n",
		*out, *pkg, *version, *code, strings.Join(ds, ","), len(data), kp)
	return nil
}
