// Package android simulates an Android 11 device (toybox userland, mksh)
// closely enough that code written against real devices parses its shell
// output unchanged. The ADB transport calls System.Exec and
// System.Interactive; simulated apps use the app-facing API (Install,
// App, StartActivity, broadcasts, Activity and Node).
//
// What is simulated:
//
//   - Boot and reboot: Shutdown hands the next boot what survives
//     (packages, /data, settings, persist.*: Config.Restore); with
//     Config.Booting sys.boot_completed stays unset until CompleteBoot
//     broadcasts BOOT_COMPLETED; the reboot command calls Config.Power.
//
//   - Boot: kernel threads, init (pid 1), ueventd, logd, lmkd,
//     servicemanager, hwservicemanager, vold, surfaceflinger, zygote64,
//     zygote, netd, adbd, system_server, SystemUI and the launcher
//     (com.android.launcher3/.Launcher resumed as home), with a few
//     realistic boot log lines. New returns once the launcher is drawn.
//
//   - System properties (about 80 realistic keys, getprop/setprop, ro.*
//     read-only), a settings table (settings get/put/list/delete).
//
//   - A device clock with offset and drift (Clock), a monotonic uptime, and
//     the device time zone from persist.sys.timezone.
//
//   - Processes: pids that grow with small random gaps (deterministic per
//     Seed), uids and user names (root, system, shell, u0_aNNN, ...),
//     start times, VSZ/RSS, WCHAN, SELinux labels, /proc/PID/cmdline,
//     status and comm. Every shell command line runs as an `sh` process
//     (child of adbd) and each non-builtin command as its own child process
//     that ps shows while it runs. Killing a command's process ends it with
//     status 128+signal. Persistent processes (daemons, SystemUI, the
//     launcher) are restarted when killed; init ignores signals.
//
//   - Logging: main, radio, events, system, crash and kernel ring buffers
//     (LogBufferBytes each, oldest entries dropped), the 4068-byte payload
//     limit, and logcat with its Android 11 options, filterspecs,
//     ANDROID_LOG_TAGS / ANDROID_PRINTF_LOG, all -v formats and modifiers,
//     "--------- beginning of" dividers as logcat prints them, and the same
//     error texts. Streaming readers never block loggers: a reader copies
//     new entries under a short lock and formats them outside it; a reader
//     that falls behind by more than a ring's size misses the entries that
//     were dropped (as with logd pruning).
//
//   - Packages and the activity manager: Install/Uninstall, installs of
//     real APK files (pm install PATH, cmd package install -S SIZE from
//     stdin as adb install streams it, install-create/write/commit/abandon
//     sessions; a lite parse of the binary manifest, a v1 or v2/v3
//     signature required but not verified, downgrade and signer checks,
//     the package manager's failure texts; Config.InstallAPK gives such a
//     package code), pm (list packages [--show-versioncode], path, dump,
//     clear, uninstall), dumpsys package, activity
//     resolution (explicit, MAIN/LAUNCHER by package, HOME, declared
//     actions), tasks and a back stack, COLD/WARM/HOT launches with
//     `am start -W` reporting, "START u0 {...}" and "Displayed ..." log
//     lines, manifest and dynamic broadcast receivers, force-stop (the
//     package then misses implicit broadcasts until launched again), am kill,
//     process death logging (ActivityManager, Zygote), dumpsys activity
//     activities/top/processes, dumpsys window (mCurrentFocus, mFocusedApp)
//     and a simple dumpsys meminfo.
//
//   - App callbacks run on a per-process main thread, one at a time and in
//     order (OnProcessStart first); OnClick, OnBack, OnTextInput and
//     OnResume handlers run on goroutines of their own.
//
//   - UI: each activity owns a view tree (Node); `uiautomator dump` renders
//     it as uiautomator does (attribute order, KXmlSerializer escaping,
//     NAF marks, bounds clipped to the screen); `input tap` hit-tests it;
//     `input keyevent` BACK/HOME; `input text`. The launcher shows one icon
//     per launchable app, and tapping one starts it.
//
//   - A mksh-like shell: quoting, escapes, $VAR ${VAR} ${VAR:-x} ${#VAR}
//     $? $$ $! $# $@ $0-$9, $(...) and `...`, $((...)), globbing against
//     the device file system, ; && || | & (jobs end with the command line),
//     ! pipelines, redirections (> >> < 2>&1 >&2 &> <<< /dev/null /dev/tty),
//     if/elif/else, while/until, for, { } and ( ), builtins (cd, echo,
//     export, exec, exit, eval, read, set, shift, test/[, wait, ...), and
//     toybox-style commands: cat ls rm rmdir mkdir touch cp mv stat printf
//     sleep id whoami uname date getprop setprop env printenv which
//     basename dirname seq yes pidof ps kill killall grep head tail wc sort
//     cut uniq tr tee xargs uptime df free, plus log, logcat, am, pm, cmd,
//     dumpsys, input, uiautomator, settings, wm, monkey, screencap and chmod.
//
//   - A small in-memory file system: /sdcard (= /storage/emulated/0 =
//     /storage/self/primary), /data/local/tmp, read-only /system, /proc
//     (uptime, version, meminfo, PID/cmdline|status|comm), /dev/null and
//     /dev/tty, with shell/root permissions.
//
//   - What adbd serves (System implements adbd.Shell and adbd.FileSystem):
//     shells as root or shell (uid 2000) as adbd runs, an interactive shell
//     with a prompt only on a terminal (a piped `adb shell < script` has
//     none, as mksh reading a pipe), and the sync service's view of the
//     file system with the shell/root permissions; file contents larger
//     than SpillBytes live in host temporary files removed on Close.
//
//   - screencap: the screen rendered from the view tree (PNG with -p or a
//     .png file name, else the raw header and RGBA rows).
//
// What is not simulated: binary logcat output (-B) and pstore (-L), logd
// statistics and prune lists, here-documents, shell functions and case,
// services, content providers, permissions beyond exported components and
// shell/root, multiple users and displays, screen rotation, real input
// dispatch (only taps by hit-testing), screenrecord, code in APKs (the
// simulator's own code runs), verification of APK signatures,
// instrumentations (am instrument always reports the component missing),
// app_process (so scrcpy's server cannot run), SELinux enforcement, and
// thread-level detail (ps -T shows processes only).
//
// Differences from the device worth knowing: `command not found` is
// reported as "/system/bin/sh: NAME: not found"; `am start` exits 1 after
// "Error: ..." results; the per-display resumed line of `dumpsys activity
// activities` reads " ResumedActivity: ActivityRecord{...}".
//
// # Command surface
//
// What the harness, the project's docs and common ADB clients send while
// they set a device up, each line "COMMAND — WHO RELIES ON IT" (learnt from
// their public sources: Mobly's android_device and snippet client, Appium's
// appium-adb and UiAutomator2 driver, Tradefed's NativeDevice, openatx
// uiautomator2, scrcpy's adb tunnel). surface_test.go runs exactly this list,
// read from this comment, through the real adb and checks that each
// answers as a device does. Shell features are added for this list.
//
//	getprop — Mobly (build info), Tradefed, uiautomator2
//	getprop ro.product.model — harness (farm up), Appium UiAutomator2
//	getprop ro.build.version.sdk — Appium UiAutomator2, uiautomator2, Tradefed, scrcpy
//	getprop sys.boot_completed — Tradefed, Mobly (wait for boot)
//	echo ping — Appium UiAutomator2 (adb ping)
//	id -u — Mobly (is adbd root)
//	id — Tradefed (isAdbRoot reads uid=0)
//	whoami — Appium UiAutomator2 (isRoot)
//	date +%s%N — harness (clock offset)
//	ls /data/local/tmp — Appium UiAutomator2, uiautomator2
//	mkdir -p /data/local/tmp/wmpf-hil/bin — Tradefed, Appium UiAutomator2
//	touch /data/local/tmp/wmpf-hil/bin/agent — uiautomator2 (after adb push)
//	chmod 755 /data/local/tmp/wmpf-hil/bin/agent — uiautomator2 (atx-agent)
//	stat -c %s /system/bin/sh — docs (size of a pushed file)
//	df /data — Tradefed (free space)
//	rm -rf /data/local/tmp/wmpf-hil — Appium UiAutomator2, Tradefed, Mobly
//	pm list packages — Mobly, Appium UiAutomator2, Tradefed, uiautomator2
//	pm list packages -3 — Appium UiAutomator2
//	pm list instrumentation — Mobly (snippets), Tradefed
//	pm path com.android.settings — Appium UiAutomator2, uiautomator2
//	cmd package list packages — adb (cmd feature), Appium UiAutomator2
//	dumpsys package com.android.settings — Appium UiAutomator2 (versionName)
//	settings get global animator_duration_scale — Appium UiAutomator2
//	settings put global animator_duration_scale 0 — Appium UiAutomator2 (animations off)
//	wm size — Appium UiAutomator2, uiautomator2
//	wm density — Appium UiAutomator2
//	dumpsys window — Appium UiAutomator2, uiautomator2 (mCurrentFocus)
//	dumpsys activity activities — harness (resumed activity)
//	am start -W -a android.intent.action.MAIN -c android.intent.category.LAUNCHER -p com.android.settings — harness
//	am force-stop com.android.settings — harness, Appium UiAutomator2
//	am instrument -w x/y — Appium UiAutomator2, Mobly, uiautomator2, Tradefed
//	pidof system_server — harness, Appium UiAutomator2
//	ps -A — Appium UiAutomator2, Tradefed
//	input keyevent KEYCODE_BACK — harness, Appium UiAutomator2
//	input tap 100 300 — harness, docs
//	uiautomator dump /dev/tty — harness, uiautomator2
//	screencap -p — Tradefed, Appium UiAutomator2, uiautomator2, harness (failure screenshots)
//	logcat -d -v epoch,usec -t 1 — harness (its format; streamed with -T 1)
//	logcat -c — Mobly, Tradefed
//	kill -9 $(pidof com.android.systemui) — harness (kill -9 PID)
//
// Besides the shell, the same clients use these adbd services (package
// adbd): sync (adb push/pull: Tradefed, Mobly, uiautomator2, scrcpy's
// server jar), reverse (scrcpy's tunnel, Appium's reverse proxies: rules
// are kept and listed but no traffic is tunnelled), root/unroot (Mobly,
// Tradefed), reboot (Tradefed), abb_exec (adb install).
package android
