package adbd

import "time"

// Features a device can advertise in its CNXN banner, with what each tells
// the adb server (AOSP adb transport.cpp and the client code that tests
// them). Only implemented ones are advertised: the host changes behaviour on
// each.
const (
	// FeatureShellV2: `adb shell` uses the shell protocol (separate stdout
	// and stderr, exit status).
	FeatureShellV2 = "shell_v2"
	// FeatureCmd: the device has `cmd`; `adb install`/`uninstall` without
	// abb_exec run `cmd package ...` instead of `pm ...`.
	FeatureCmd = "cmd"
	// FeatureStatV2: `adb push`/`pull` use STA2/LST2 (64-bit sizes,
	// errno on failure) instead of STAT.
	FeatureStatV2 = "stat_v2"
	// FeatureLsV2: `adb ls` and directory pulls use LIS2/DNT2.
	FeatureLsV2 = "ls_v2"
	// FeatureFixedPushMkdir: SEND creates missing parent directories, so
	// `adb push` does not run `mkdir -p` first.
	FeatureFixedPushMkdir = "fixed_push_mkdir"
	// FeatureAbbExec: `adb install` streams the APK over
	// abb_exec:package\0install\0-S\0SIZE (raw stdin/stdout).
	FeatureAbbExec = "abb_exec"
	// FeatureAbb: `adb abb` opens abb:SERVICE\0ARG... with the shell
	// protocol.
	FeatureAbb = "abb"
)

// Limits of a connection.
const (
	// DefaultMaxStreams is the default Config.MaxStreams. adbd keeps no
	// count of its own: each stream holds a socket pair or a pipe and a
	// thread, so adbd runs out of file descriptors first, and a service it
	// cannot start is answered with CLSE. 1024 is the usual soft limit of
	// open files; past it an OPEN is refused with CLSE here too, so memory
	// stays bounded whatever the host opens.
	DefaultMaxStreams = 1024
	// DefaultHandshakeTimeout is the default Config.HandshakeTimeout.
	// adbd keeps a connection until CNXN arrives; the adb server retries a
	// TCP device whose handshake has not completed after about 10 s. A
	// connection still silent after that long is not an adb server
	// completing a handshake, so it is closed.
	DefaultHandshakeTimeout = 10 * time.Second
)

// implementedFeatures lists what a Server configured with cfg implements.
func implementedFeatures(cfg Config) []string {
	f := []string{FeatureShellV2, FeatureCmd}
	if cfg.FS != nil {
		f = append(f, FeatureStatV2, FeatureLsV2, FeatureFixedPushMkdir)
	}
	return append(f, FeatureAbbExec, FeatureAbb)
}

// Features lists the features the device advertises: exactly the services
// and protocol versions it implements.
func (s *Server) Features() []string {
	if s.cfg.Banner.Features != nil {
		return append([]string(nil), s.cfg.Banner.Features...)
	}
	return append([]string(nil), s.features...)
}

// Root reports whether adbd runs as root now.
func (s *Server) Root() bool { return s.root.Load() }
