package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
)

// Mode is how the APK reaches the device.
type Mode string

const (
	// ModeAuto chooses as `adb install` does: ModeStream where the device
	// has the `cmd` feature (Android 7+), else ModePush.
	ModeAuto Mode = "auto"
	// ModeStream streams the APK into the package manager:
	// `abb_exec:package\0install\0...\0-S\0SIZE` where the device has
	// abb_exec (Android 10+), else `exec:cmd package install ... -S SIZE`.
	ModeStream Mode = "stream"
	// ModePush pushes the APK to TempDir, runs `pm install -r PATH` and
	// removes it.
	ModePush Mode = "push"
)

// ParseMode checks a Mode named in configuration ("" is ModeAuto).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeAuto, nil
	case ModeAuto, ModeStream, ModePush:
		return m, nil
	}
	return "", fmt.Errorf("install mode %q: allowed values are %s, %s and %s", s, ModeAuto, ModeStream, ModePush)
}

// Options tune Install. The zero value installs as `adb install -r`.
type Options struct {
	// Mode; "" means ModeAuto.
	Mode Mode
	// AllowDowngrade passes -d: install over a higher versionCode.
	AllowDowngrade bool
	// GrantPermissions passes -g: grant every runtime permission.
	GrantPermissions bool
	// TempDir is where ModePush puts the APK; "" means /data/local/tmp,
	// where `adb install` puts it.
	TempDir string
}

// DefaultTempDir is where the push mode puts the APK unless told.
const DefaultTempDir = "/data/local/tmp"

// Installed is a verified install.
type Installed struct {
	Package     string
	VersionName string
	VersionCode int64
	SHA256      string // of the bytes sent, which are the APK's
	Mode        Mode   // ModeStream or ModePush: how it went
	Took        time.Duration
}

// Kinds of failure; use errors.Is on the error of Install.
var (
	// ErrRefused: the device's package manager did not install the APK
	// (Error.Code and Error.Text say what it said).
	ErrRefused = errors.New("the device refused the APK")
	// ErrVersionMismatch: after the install, the device reports another
	// version than the APK's.
	ErrVersionMismatch = errors.New("installed version differs from the APK's")
	// ErrAPKChanged: the file changed between Inspect and Install.
	ErrAPKChanged = errors.New("the APK file changed since it was inspected")
)

// Error is a failed install.
type Error struct {
	Serial string
	APK    string // the file
	Mode   Mode
	Kind   error  // one of the kinds above, or nil
	Code   string // the package manager's code, e.g. INSTALL_FAILED_VERSION_DOWNGRADE
	Text   string // what the device said, as it said it
	Err    error  // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "install %s on %s", e.APK, e.Serial)
	if e.Mode != "" {
		fmt.Fprintf(&b, " (%s)", e.Mode)
	}
	if e.Kind != nil {
		fmt.Fprintf(&b, ": %v", e.Kind)
	}
	if e.Text != "" {
		fmt.Fprintf(&b, ": %s", e.Text)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap lets errors.Is see both the kind and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// failureCode finds the code in "Failure [INSTALL_FAILED_X: why]" or
// "Failure [INSTALL_FAILED_X]".
var failureCode = regexp.MustCompile(`Failure \[([A-Z][A-Z0-9_]*)`)

// maxOutput bounds what Install keeps of the package manager's output.
const maxOutput = 64 << 10

// Install installs apk (from Inspect) on dev and verifies with `dumpsys
// package` that the device now reports the APK's versionCode and
// versionName. A refusal is an error carrying the device's own text
// (`Failure [INSTALL_FAILED_VERSION_DOWNGRADE]`,
// `Failure [INSTALL_PARSE_FAILED_NOT_APK: ...]`); errors of the ADB layer
// (no device, the stream lost, ctx ended) are wrapped.
//
// In ModePush the copy on the device is removed after pm ran; when ctx
// ends first it is left in TempDir.
func Install(ctx context.Context, dev *adb.Device, apk APK, opts Options) (Installed, error) {
	start := time.Now()
	mode, err := ParseMode(string(opts.Mode))
	if err != nil {
		return Installed{}, err
	}
	if apk.Path == "" || apk.Package == "" {
		return Installed{}, errors.New("install: the APK has no path or package: get it from Inspect")
	}
	tempDir := opts.TempDir
	if tempDir == "" {
		tempDir = DefaultTempDir
	}
	if !strings.HasPrefix(tempDir, "/") {
		return Installed{}, fmt.Errorf("install: TempDir %q: want an absolute device path such as %s", tempDir, DefaultTempDir)
	}
	e := &Error{Serial: dev.Serial(), APK: apk.Path, Mode: mode}
	fail := func(kind, err error) error {
		e.Kind, e.Err = kind, err
		return e
	}
	if mode == ModeAuto {
		cmd, err := dev.HasFeature(ctx, "cmd")
		if err != nil {
			return Installed{}, fail(nil, err)
		}
		mode = ModePush
		if cmd {
			mode = ModeStream
		}
	}

	f, err := os.Open(apk.Path)
	if err != nil {
		return Installed{}, fail(nil, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Installed{}, fail(nil, err)
	}
	if fi.Size() != apk.Size {
		return Installed{}, fail(ErrAPKChanged, fmt.Errorf("%d bytes now, %d when inspected", fi.Size(), apk.Size))
	}
	sum := sha256.New()
	src := io.TeeReader(f, sum)

	args := []string{"install", "-r"}
	if opts.AllowDowngrade {
		args = append(args, "-d")
	}
	if opts.GrantPermissions {
		args = append(args, "-g")
	}
	var out string
	switch mode {
	case ModeStream:
		out, err = stream(ctx, dev, args, src, fi.Size())
	case ModePush:
		out, err = push(ctx, dev, args, src, apk, tempDir, fi.ModTime())
	}
	e.Mode = mode
	if got := hex.EncodeToString(sum.Sum(nil)); err == nil && got != apk.SHA256 {
		return Installed{}, fail(ErrAPKChanged, fmt.Errorf("sha256 %s sent, %s when inspected", got, apk.SHA256))
	}
	if text := strings.TrimSpace(out); !strings.HasPrefix(lastLine(text), "Success") {
		if text == "" && err != nil {
			return Installed{}, fail(nil, err) // nothing from the device: the transport failed
		}
		if text == "" {
			text = "(the package manager printed nothing)"
		}
		e.Text = text
		if m := failureCode.FindStringSubmatch(text); m != nil {
			e.Code = m[1]
		}
		return Installed{}, fail(ErrRefused, err)
	}

	res, err := dev.Shell(ctx, "dumpsys package "+adb.Quote(apk.Package))
	if err != nil {
		return Installed{}, fail(nil, fmt.Errorf("verifying with dumpsys: %w", err))
	}
	got, err := ParseDumpsysPackage(string(res.Stdout), apk.Package)
	if err != nil {
		return Installed{}, fail(ErrVersionMismatch, err)
	}
	if got.VersionCode != apk.VersionCode || got.VersionName != apk.VersionName {
		return Installed{}, fail(ErrVersionMismatch, fmt.Errorf("the device reports versionCode %d versionName %q; the APK has %d %q",
			got.VersionCode, got.VersionName, apk.VersionCode, apk.VersionName))
	}
	return Installed{Package: apk.Package, VersionName: got.VersionName, VersionCode: got.VersionCode,
		SHA256: apk.SHA256, Mode: mode, Took: time.Since(start)}, nil
}

// lastLine is the last non-empty line of text: pm of Android 4 and 5
// prints "\tpkg: /data/local/tmp/x.apk" before "Success".
func lastLine(text string) string {
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		return strings.TrimSpace(text[i+1:])
	}
	return text
}

// stream installs by streaming the APK into the package manager, as
// `adb install` does on devices with the cmd feature.
func stream(ctx context.Context, dev *adb.Device, args []string, src io.Reader, size int64) (string, error) {
	args = append(args, "-S", strconv.FormatInt(size, 10))
	abb, err := dev.HasFeature(ctx, "abb_exec")
	if err != nil {
		return "", err
	}
	out := &limitedBuffer{max: maxOutput}
	if abb {
		err = dev.AbbExec(ctx, append([]string{"package"}, args...), src, out)
	} else {
		err = dev.Exec(ctx, "cmd package "+adb.Command(args...), src, out)
	}
	return out.String(), err
}

// push installs the way `adb install` does on devices without cmd: push
// to TempDir, pm install, remove.
func push(ctx context.Context, dev *adb.Device, args []string, src io.Reader, apk APK, tempDir string, mtime time.Time) (string, error) {
	name := filepath.Base(apk.Path)
	if !strings.HasSuffix(strings.ToLower(name), ".apk") {
		name += ".apk" // pm of older Android wants the suffix
	}
	remote := path.Join(tempDir, name)
	if err := dev.Push(ctx, src, remote, 0o644, mtime); err != nil {
		return "", err
	}
	res, err := dev.Shell(ctx, "pm "+adb.Command(append(args, remote)...))
	if ctx.Err() == nil {
		_, _ = dev.Shell(ctx, "rm -f "+adb.Quote(remote))
	}
	if err != nil {
		return "", err
	}
	return string(res.Stdout) + string(res.Stderr), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
