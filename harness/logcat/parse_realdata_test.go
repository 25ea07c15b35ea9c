package logcat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lines printed by real devices (testdata/real, SOURCES.md says where each
// file comes from). Calendar stamps carry no year or zone: these tests read
// them in UTC and in realYear.
const realYear = 2024

// realLines reads one file of real output, one line a line.
func realLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// TestRealLinesAllParse: every line of every real file is an entry, or a
// "--------- beginning of" divider.
func TestRealLinesAllParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "real", "*", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no real logcat files: %v", err)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join("testdata", "real"), f)
		for i, l := range realLines(t, rel) {
			_, err := ParseLine(l, time.UTC, realYear)
			if err != nil && !(errors.Is(err, ErrNotEntry) && strings.HasPrefix(l, "--------- ")) {
				t.Errorf("%s:%d: %v", rel, i+1, err)
			}
		}
	}
}

func TestRealLines(t *testing.T) {
	cal := func(mo, d, h, mi, s, ms int) time.Time {
		return time.Date(realYear, time.Month(mo), d, h, mi, s, ms*1e6, time.UTC)
	}
	epoch := func(s, ms int64) time.Time { return time.Unix(s, ms*1e6) }
	cases := []struct {
		file string
		line int // 1-based
		want Entry
	}{
		// Android 9 (LineageOS 16): the tag of a process whose name was cut
		// to 15 characters, a tag padded to 8, the "Start proc" witness line.
		{"threadtime/9-gravitybox-2013.txt", 4, Entry{Time: cal(8, 26, 2, 49, 0, 886), Pid: 810, Tid: 826, Prio: 'I', Tag: "ActivityManager",
			Msg: "Start proc 7024:com.android.systemui/u0a27 for restart com.android.systemui"}},
		{"threadtime/9-gravitybox-2013.txt", 6, Entry{Time: cal(8, 26, 2, 49, 0, 922), Pid: 7024, Tid: 7024, Prio: 'E', Tag: "ndroid.systemu",
			Msg: "Not starting debugger since process cannot load the jdwp agent."}},
		{"threadtime/9-gravitybox-2013.txt", 7, Entry{Time: cal(8, 26, 2, 49, 0, 922), Pid: 7024, Tid: 7024, Prio: 'V', Tag: "Riru",
			Msg: "edxp: forkAndSpecializePost"}},
		{"threadtime/9-dotnet-performance-4779-oneplus3t.txt", 1, Entry{Time: cal(3, 19, 9, 52, 20, 543), Pid: 1315, Tid: 1424, Prio: 'I', Tag: "ActivityManager",
			Msg: "Displayed com.companyname.dotnet_new_android/crc6456e79b14b408fe9d.MainActivity: +478ms"}},
		// Android 11: ActivityTaskManager's START and Displayed lines, a
		// tag with a dot and digits, a short tag padded to 8.
		{"threadtime/11-vancedmanager-115.txt", 3, Entry{Time: cal(8, 25, 8, 42, 7, 223), Pid: 1458, Tid: 1522, Prio: 'I', Tag: "ActivityTaskManager",
			Msg: "Displayed com.google.android.packageinstaller/com.android.packageinstaller.PackageInstallerActivity: +117ms"}},
		{"threadtime/11-vancedmanager-115.txt", 4, Entry{Time: cal(8, 25, 8, 42, 7, 233), Pid: 1163, Tid: 14204, Prio: 'D', Tag: "BufferPoolAccessor2.0",
			Msg: "evictor expired: 1, evicted: 0"}},
		{"threadtime/11-vancedmanager-115.txt", 5, Entry{Time: cal(8, 25, 8, 42, 7, 269), Pid: 928, Tid: 935, Prio: 'E', Tag: "statsd",
			Msg: "Predicate 5980654721335871649 dropping data for dimension key (10)0x2010101->10059[I] (10)0x30000->*launch*[S]"}},
		// Android 13 (MediaTek tablet): the events buffer's first line
		// stamped before the clock was set, messages that start with
		// blanks, a "Start proc" line.
		{"threadtime/13-healer-mt8168.txt", 8, Entry{Time: cal(1, 1, 0, 0, 0, 36), Pid: 198, Tid: 198, Prio: 'I', Tag: "auditd",
			Msg: "type=2000 audit(0.0:1): state=initialized audit_enabled=0 res=1"}},
		{"threadtime/13-healer-mt8168.txt", 4, Entry{Time: cal(12, 9, 6, 1, 35, 559), Pid: 202, Tid: 202, Prio: 'I', Tag: "auditd",
			Msg: "    /system/etc/selinux/plat_service_contexts"}},
		{"threadtime/13-healer-mt8168.txt", 62, Entry{Time: cal(12, 9, 17, 3, 12, 855), Pid: 832, Tid: 862, Prio: 'I', Tag: "ActivityManager",
			Msg: "Start proc 5980:android.process.media/u0a25 for broadcast {com.android.mtp/com.android.mtp.MtpReceiver}"}},
		// -v brief on the same device: no time, no tid, the pid padded
		// to 5 inside the parentheses.
		{"brief/13-healer-mt8168.txt", 2, Entry{Pid: 832, Prio: 'I', Tag: "ActivityManager",
			Msg: "Changes in ProcessRecord{336fc56 3115:com.android.providers.media.module/u0a100}: 4"}},
		{"brief/13-healer-mt8168.txt", 21, Entry{Pid: 3784, Prio: 'V', Tag: "ActivityThread",
			Msg: ">>> handling: EXECUTE_TRANSACTION"}},
		// Android 14: a tag that starts with a dot, fatal lines whose
		// message keeps its leading blanks, five-digit pids.
		{"threadtime/14-maui-ffimageloading.txt", 1, Entry{Time: cal(8, 3, 9, 28, 49, 672), Pid: 9110, Tid: 9110, Prio: 'E', Tag: ".ffimageloading",
			Msg: "Not starting debugger since process cannot load the jdwp agent."}},
		{"threadtime/14-maui-ffimageloading.txt", 3, Entry{Time: cal(8, 3, 9, 28, 50, 564), Pid: 9110, Tid: 9148, Prio: 'F', Tag: "libc",
			Msg: "Fatal signal 11 (SIGSEGV), code 2 (SEGV_ACCERR), fault addr 0x7421a73000 in tid 9148 (.NET TP Worker), pid 9110 (.ffimageloading)"}},
		{"threadtime/14-maui-ffimageloading.txt", 16, Entry{Time: cal(8, 3, 9, 28, 51, 68), Pid: 9154, Tid: 9154, Prio: 'F', Tag: "DEBUG",
			Msg: "    x0  b400007421a72fff  x1  00000000778ce00c  x2  000000000000001e  x3  000000000000001e"}},
		{"threadtime/14-maui-ffimageloading.txt", 22, Entry{Time: cal(8, 3, 9, 28, 51, 116), Pid: 380, Tid: 380, Prio: 'E', Tag: "BpTransactionCompletedListener",
			Msg: "Failed to transact (-32)"}},
		{"threadtime/14-scrcpy-4624-pixelfold.txt", 1, Entry{Time: cal(2, 1, 6, 30, 17, 532), Pid: 31844, Tid: 31844, Prio: 'I', Tag: "Choreographer",
			Msg: "Skipped 477 frames!  The application may be doing too much work on its main thread."}},
		{"threadtime/14-scrcpy-4624-pixelfold.txt", 3, Entry{Time: cal(2, 1, 6, 30, 17, 589), Pid: 23049, Tid: 26109, Prio: 'D', Tag: "HbmSvManager",
			Msg: "Ambient sensor :  TMD3719 Ambient Light update Lux : 18.196802"}},
		// Android 15: Displayed now names the user.
		{"threadtime/15-dotnet-performance-4779-pixel7pro.txt", 1, Entry{Time: cal(3, 19, 15, 10, 25, 296), Pid: 1547, Tid: 1658, Prio: 'I', Tag: "ActivityTaskManager",
			Msg: "Displayed com.companyname.dotnetnewmauisamplecontent/crc646280ffa8b0b9e474.MainActivity for user 0: +1s435ms"}},
		// -v epoch on Android 14 phones, milliseconds, tabs in messages.
		{"epoch/14-grapheneos-3103-bramble.txt", 2, Entry{Time: epoch(1705944500, 148), Pid: 21645, Tid: 21645, Prio: 'E', Tag: "AndroidRuntime",
			Msg: "FATAL EXCEPTION: main"}},
		{"epoch/14-grapheneos-3103-bramble.txt", 5, Entry{Time: epoch(1705944500, 148), Pid: 21645, Tid: 21645, Prio: 'E', Tag: "AndroidRuntime",
			Msg: "\tat hvu.g(SourceFile:8)"}},
		{"epoch/14-grapheneos-3173-cheetah.txt", 4, Entry{Time: epoch(1706922089, 675), Pid: 31180, Tid: 31180, Prio: 'E', Tag: "AndroidRuntime",
			Msg: "hwf: Unable to access car"}},
		// The seconds right-aligned in 19 columns, as liblog prints them.
		{"epoch/unknown-grapheneos-3472-padded.txt", 1, Entry{Time: epoch(1714053478, 635), Pid: 29584, Tid: 29584, Prio: 'I', Tag: "auditd",
			Msg: `avc=type=1400 audit(0.0:65721): avc:  denied  { lock } for  comm="arhead:watchdog" path="/system/framework/arm64/boot-telephony-common.art" dev="dm-20" ino=1409 scontext=u:r:untrusted_app:s0:c153,c256,c512,c768 tcontext=u:object_r:system_file:s0 tclass=file permissive=0 app=com.google.android.projection.gearhead`}},
		{"epoch/unknown-grapheneos-3472-padded.txt", 13, Entry{Time: epoch(1713997129, 678), Pid: 31322, Tid: 31322, Prio: 'E', Tag: "AndroidRuntime",
			Msg: "\t... 25 more"}},
		{"epoch/unknown-grapheneos-3472-padded.txt", 14, Entry{Time: epoch(1713997158, 739), Pid: 13283, Tid: 13283, Prio: 'E', Tag: "AndroidRuntime",
			Msg: "FATAL EXCEPTION: main"}},
		// -v uid with a uid printed as a number (names longer than five
		// characters are): the uid is not the pid.
		{"epoch/14-grapheneos-3103-uid.txt", 1, Entry{Time: epoch(1705995678, 72), Pid: 2591, Tid: 2697, Prio: 'V', Tag: "WindowManagerShell",
			Msg: "Transition requested: android.os.BinderProxy@f6e317b TransitionRequestInfo { type = 1, triggerTask = TaskInfo{userId=0 taskId=5840 displayId=0 isRunning=true baseIntent=Intent { flg=0x18080000 cmp=app.grapheneos.logviewer/.LogcatActivity } baseActivity=ComponentInfo{app.grapheneos.logviewer/app.grapheneos.logviewer.LogcatActivity}"}},
	}
	for _, c := range cases {
		lines := realLines(t, c.file)
		if c.line < 1 || c.line > len(lines) {
			t.Fatalf("%s has %d lines, no line %d", c.file, len(lines), c.line)
		}
		got, err := ParseLine(lines[c.line-1], time.UTC, realYear)
		if err != nil {
			t.Errorf("%s:%d: %v", c.file, c.line, err)
			continue
		}
		if !got.Time.Equal(c.want.Time) || got.Pid != c.want.Pid || got.Tid != c.want.Tid || got.Prio != c.want.Prio || got.Tag != c.want.Tag || got.Msg != c.want.Msg {
			t.Errorf("%s:%d:\n got %+v\nwant %+v", c.file, c.line, got, c.want)
		}
	}
}

func TestRealDividers(t *testing.T) {
	for _, f := range []string{"epoch/14-grapheneos-3103-bramble.txt", "epoch/14-grapheneos-3173-cheetah.txt", "threadtime/13-healer-mt8168.txt", "brief/13-healer-mt8168.txt"} {
		l := realLines(t, f)[0]
		if _, err := ParseLine(l, nil, 0); !errors.Is(err, ErrNotEntry) {
			t.Errorf("%s:1 %q: got %v, want ErrNotEntry", f, l, err)
		}
	}
}
