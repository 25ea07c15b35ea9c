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
//   - Boot: kernel threads, init (pid 1), ueventd, logd, lmkd,
//     servicemanager, hwservicemanager, vold, surfaceflinger, zygote64,
//     zygote, netd, adbd, system_server, SystemUI and the launcher
//     (com.android.launcher3/.Launcher resumed as home), with a few
//     realistic boot log lines. New returns once the launcher is drawn.
//   - System properties (about 80 realistic keys, getprop/setprop, ro.*
//     read-only), a settings table (settings get/put/list/delete).
//   - A device clock with offset and drift (Clock), a monotonic uptime, and
//     the device time zone from persist.sys.timezone.
//   - Processes: pids that grow with small random gaps (deterministic per
//     Seed), uids and user names (root, system, shell, u0_aNNN, ...),
//     start times, VSZ/RSS, WCHAN, SELinux labels, /proc/PID/cmdline,
//     status and comm. Every shell command line runs as an `sh` process
//     (child of adbd) and each non-builtin command as its own child process
//     that ps shows while it runs. Killing a command's process ends it with
//     status 128+signal. Persistent processes (daemons, SystemUI, the
//     launcher) are restarted when killed; init ignores signals.
//   - Logging: main, radio, events, system, crash and kernel ring buffers
//     (LogBufferBytes each, oldest entries dropped), the 4068-byte payload
//     limit, and logcat with its Android 11 options, filterspecs,
//     ANDROID_LOG_TAGS / ANDROID_PRINTF_LOG, all -v formats and modifiers,
//     "--------- beginning of" dividers as logcat prints them, and the same
//     error texts. Streaming readers never block loggers: a reader copies
//     new entries under a short lock and formats them outside it; a reader
//     that falls behind by more than a ring's size misses the entries that
//     were dropped (as with logd pruning).
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
//   - App callbacks run on a per-process main thread, one at a time and in
//     order (OnProcessStart first); OnClick, OnBack, OnTextInput and
//     OnResume handlers run on goroutines of their own.
//   - UI: each activity owns a view tree (Node); `uiautomator dump` renders
//     it as uiautomator does (attribute order, KXmlSerializer escaping,
//     NAF marks, bounds clipped to the screen); `input tap` hit-tests it;
//     `input keyevent` BACK/HOME; `input text`. The launcher shows one icon
//     per launchable app, and tapping one starts it.
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
//     dumpsys, input, uiautomator, settings, wm and monkey.
//   - A small in-memory file system: /sdcard (= /storage/emulated/0 =
//     /storage/self/primary), /data/local/tmp, read-only /system, /proc
//     (uptime, version, meminfo, PID/cmdline|status|comm), /dev/null and
//     /dev/tty, with shell/root permissions.
//
// What is not simulated: binary logcat output (-B) and pstore (-L), logd
// statistics and prune lists, here-documents, shell functions and case,
// services, content providers, permissions beyond exported components and
// shell/root, multiple users and displays, screen rotation, real input
// dispatch (only taps by hit-testing), screencap and screenrecord, code in
// APKs (the simulator's own code runs), verification of APK signatures,
// SELinux enforcement, and thread-level detail
// (ps -T shows processes only).
//
// Differences from the device worth knowing: `command not found` is
// reported as "/system/bin/sh: NAME: not found"; `am start` exits 1 after
// "Error: ..." results; the per-display resumed line of `dumpsys activity
// activities` reads " ResumedActivity: ActivityRecord{...}".
package android
