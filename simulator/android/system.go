package android

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones in minimal containers
)

// Config configures a simulated device.
type Config struct {
	// Props overrides and adds system properties. Standard keys are filled
	// with realistic defaults when missing.
	Props map[string]string
	Clock ClockConfig
	// Screen is the display size; 1080x1920 by default.
	Screen Size
	// Rooted makes adbd run as root (userdebug after `adb root`): shells run
	// as uid 0 and may kill any process.
	Rooted bool
	// LogBufferBytes is the size of each log ring buffer; 256 KiB by default.
	LogBufferBytes int
	// Seed drives the randomness (pid gaps, record hashes, sizes).
	Seed int64
	// InstallAPK gives code to packages installed from APK files; nil:
	// they get none (see InstallFunc).
	InstallAPK InstallFunc
	// Restore boots with what a previous boot kept (System.Shutdown).
	Restore *Persistent
	// Booting leaves the boot unfinished when New returns:
	// sys.boot_completed is unset and the boot animation runs until
	// CompleteBoot. Otherwise New completes the boot.
	Booting bool
	// Power carries out the reboot command (reboot, reboot -p); nil: the
	// command fails.
	Power PowerFunc
}

// Size is a width and height in pixels.
type Size struct{ Width, Height int }

// System is one simulated Android device.
type System struct {
	cfg    Config
	clock  *Clock
	logs   *logger
	fs     *fsys
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once

	mu            sync.Mutex
	closed        bool
	props         map[string]string
	settings      map[string]map[string]string
	rng           *rand.Rand
	lastPid       int
	procs         map[int]*Process
	pendingDeaths []*Process
	packages      map[string]*pkgState
	nextUid       int
	tasks         []*task // top to bottom
	nextTaskID    int
	lastResumed   *Activity
	receivers     map[int][]*dynReceiver // by pid
	nextReceiver  int
	nextListener  int
	deathL        map[int]func(*Process)
	startL        map[int]func(*Process)
	resumedL      map[int]*eventQueue[*Activity]
	hashes        map[uint32]bool
	sessions      map[int]*installSession

	initProc, zygote, systemServer, adbd, launcherProc, systemui *Process
}

const (
	launcherPkg   = "com.android.launcher3"
	launcherClass = "com.android.launcher3.Launcher"
	systemuiPkg   = "com.android.systemui"
)

func defaultProps(cfg Config, rng *rand.Rand) map[string]string {
	serial := make([]byte, 14)
	const alnum = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	for i := range serial {
		serial[i] = alnum[rng.Intn(len(alnum))]
	}
	p := map[string]string{
		"ro.product.model":                          "Pixel 3a",
		"ro.product.name":                           "sargo",
		"ro.product.device":                         "sargo",
		"ro.product.board":                          "sargo",
		"ro.product.manufacturer":                   "Google",
		"ro.product.brand":                          "google",
		"ro.product.locale":                         "en-US",
		"ro.product.first_api_level":                "28",
		"ro.product.cpu.abi":                        "arm64-v8a",
		"ro.product.cpu.abilist":                    "arm64-v8a,armeabi-v7a,armeabi",
		"ro.product.cpu.abilist64":                  "arm64-v8a",
		"ro.product.cpu.abilist32":                  "armeabi-v7a,armeabi",
		"ro.serialno":                               string(serial),
		"ro.boot.serialno":                          string(serial),
		"ro.build.version.release":                  "11",
		"ro.build.version.sdk":                      "30",
		"ro.build.version.codename":                 "REL",
		"ro.build.version.all_codenames":            "REL",
		"ro.build.version.preview_sdk":              "0",
		"ro.build.version.incremental":              "7641976",
		"ro.build.version.security_patch":           "2021-10-01",
		"ro.build.id":                               "RQ3A.211001.001",
		"ro.build.type":                             "userdebug",
		"ro.build.tags":                             "dev-keys",
		"ro.build.user":                             "android-build",
		"ro.build.host":                             "abfarm-release-rbe-64-00044",
		"ro.build.date":                             "Mon Sep 13 20:58:07 UTC 2021",
		"ro.build.date.utc":                         "1631566687",
		"ro.build.characteristics":                  "nosdcard",
		"ro.board.platform":                         "sdm670",
		"ro.hardware":                               "sargo",
		"ro.hardware.egl":                           "adreno",
		"ro.debuggable":                             "1",
		"ro.secure":                                 "1",
		"ro.adb.secure":                             "1",
		"ro.zygote":                                 "zygote64_32",
		"ro.sf.lcd_density":                         "420",
		"ro.opengles.version":                       "196610",
		"ro.crypto.state":                           "encrypted",
		"ro.crypto.type":                            "file",
		"ro.treble.enabled":                         "true",
		"ro.vndk.version":                           "30",
		"ro.boot.verifiedbootstate":                 "orange",
		"ro.boot.flash.locked":                      "0",
		"ro.oem_unlock_supported":                   "1",
		"ro.carrier":                                "unknown",
		"persist.sys.timezone":                      "Asia/Shanghai",
		"persist.sys.locale":                        "en-US",
		"persist.sys.usb.config":                    "adb",
		"sys.usb.config":                            "adb",
		"sys.usb.state":                             "adb",
		"sys.boot_completed":                        "1",
		"dev.bootcomplete":                          "1",
		"init.svc.adbd":                             "running",
		"init.svc.logd":                             "running",
		"init.svc.servicemanager":                   "running",
		"init.svc.surfaceflinger":                   "running",
		"init.svc.zygote":                           "running",
		"init.svc.zygote_secondary":                 "running",
		"init.svc.bootanim":                         "stopped",
		"net.bt.name":                               "Android",
		"wifi.interface":                            "wlan0",
		"dalvik.vm.heapsize":                        "512m",
		"dalvik.vm.heapgrowthlimit":                 "192m",
		"dalvik.vm.isa.arm64.variant":               "cortex-a75",
		"dalvik.vm.isa.arm64.features":              "default",
		"ro.logd.size":                              "262144",
		"service.adb.root":                          "0",
		"ro.com.google.clientidbase":                "android-google",
		"ro.setupwizard.mode":                       "OPTIONAL",
		"persist.sys.dalvik.vm.lib.2":               "libart.so",
		"ro.build.version.min_supported_target_sdk": "23",
	}
	if cfg.Rooted {
		p["service.adb.root"] = "1"
	}
	if cfg.Booting {
		delete(p, "sys.boot_completed")
		delete(p, "dev.bootcomplete")
		p["init.svc.bootanim"] = "running"
	}
	for k, v := range cfg.Props {
		p[k] = v
	}
	derive := func(key, val string) {
		if _, ok := cfg.Props[key]; !ok {
			p[key] = val
		}
	}
	derive("ro.build.product", p["ro.product.device"])
	derive("ro.build.flavor", p["ro.product.name"]+"-"+p["ro.build.type"])
	derive("ro.build.display.id", fmt.Sprintf("%s-%s %s %s %s %s", p["ro.product.name"], p["ro.build.type"],
		p["ro.build.version.release"], p["ro.build.id"], p["ro.build.version.incremental"], p["ro.build.tags"]))
	fp := fmt.Sprintf("%s/%s/%s:%s/%s/%s:%s/%s", p["ro.product.brand"], p["ro.product.name"], p["ro.product.device"],
		p["ro.build.version.release"], p["ro.build.id"], p["ro.build.version.incremental"], p["ro.build.type"], p["ro.build.tags"])
	derive("ro.build.fingerprint", fp)
	derive("ro.bootimage.build.fingerprint", p["ro.build.fingerprint"])
	derive("ro.system.build.fingerprint", p["ro.build.fingerprint"])
	derive("ro.vendor.build.fingerprint", p["ro.build.fingerprint"])
	derive("ro.boot.serialno", p["ro.serialno"])
	return p
}

// New boots a simulated device: kernel threads, init(1), ueventd, logd,
// servicemanager, zygote64, system_server, surfaceflinger, adbd, SystemUI
// and the launcher, whose Launcher activity is resumed as home.
func New(cfg Config) (*System, error) {
	if cfg.Screen.Width <= 0 || cfg.Screen.Height <= 0 {
		cfg.Screen = Size{1080, 1920}
	}
	if cfg.LogBufferBytes <= 0 {
		cfg.LogBufferBytes = 256 * 1024
	}
	registerPower.Do(func() {
		if commands["reboot"] == nil {
			commands["reboot"] = cmdReboot
		}
	})
	rng := rand.New(rand.NewSource(cfg.Seed))
	s := &System{
		cfg:       cfg,
		clock:     newClock(cfg.Clock),
		logs:      newLogger(cfg.LogBufferBytes),
		rng:       rng,
		procs:     map[int]*Process{},
		packages:  map[string]*pkgState{},
		receivers: map[int][]*dynReceiver{},
		deathL:    map[int]func(*Process){},
		startL:    map[int]func(*Process){},
		resumedL:  map[int]*eventQueue[*Activity]{},
		hashes:    map[uint32]bool{},
		sessions:  map[int]*installSession{},
		nextUid:   10100,
		settings: map[string]map[string]string{
			"system": {"screen_brightness": "102", "screen_off_timeout": "60000", "font_scale": "1.0", "time_12_24": "24"},
			"secure": {"android_id": fmt.Sprintf("%016x", rng.Uint64()), "default_input_method": "com.android.inputmethod.latin/.LatinIME", "location_mode": "3"},
			"global": {"adb_enabled": "1", "airplane_mode_on": "0", "auto_time": "1", "auto_time_zone": "1", "development_settings_enabled": "1", "stay_on_while_plugged_in": "0", "wifi_on": "1", "device_provisioned": "1", "window_animation_scale": "1.0", "transition_animation_scale": "1.0", "animator_duration_scale": "1.0"},
		},
	}
	s.props = defaultProps(cfg, rng)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.fs = newFS(s)
	s.nextTaskID = 1 + rng.Intn(3)
	if err := s.boot(); err != nil {
		s.Close()
		return nil, fmt.Errorf("boot: %w", err)
	}
	if err := s.waitBoot(); err != nil {
		s.Close()
		return nil, fmt.Errorf("boot: %w", err)
	}
	return s, nil
}

// Close kills every process and ends every streaming logcat and shell. It is
// idempotent.
func (s *System) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		for _, p := range s.procs {
			p.gone.Store(true)
			p.cancel()
		}
		s.procs = map[int]*Process{}
		for _, t := range s.tasks {
			for _, a := range t.acts {
				a.markDone()
			}
		}
		s.tasks = nil
		for _, q := range s.resumedL {
			q.stop()
		}
		s.mu.Unlock()
		s.cancel()
		s.logs.close()
	})
}

// Clock returns the device clock.
func (s *System) Clock() *Clock { return s.clock }

// Screen returns the display size.
func (s *System) Screen() Size { return s.cfg.Screen }

// Rooted reports whether shells run as root.
func (s *System) Rooted() bool { return s.cfg.Rooted }

// Props returns a copy of all system properties.
func (s *System) Props() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.props))
	for k, v := range s.props {
		out[k] = v
	}
	return out
}

// GetProp returns a property's value, or "".
func (s *System) GetProp(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.props[k]
}

// SetProp sets a property; an empty value deletes it.
func (s *System) SetProp(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == "" {
		delete(s.props, k)
		return
	}
	s.props[k] = v
}

func (s *System) sortedPropKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := make([]string, 0, len(s.props))
	for k := range s.props {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Location is the device time zone (persist.sys.timezone), UTC if unknown.
func (s *System) Location() *time.Location {
	name := s.GetProp("persist.sys.timezone")
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// ---- logging helpers ----

// logAs logs on behalf of p (nil: pid 0).
func (s *System) logAs(p *Process, buffer string, prio Priority, tag, msg string) {
	e := Entry{Prio: prio, Tag: tag, Msg: msg, Buffer: buffer}
	if p != nil {
		e.Pid, e.Tid, e.Uid = p.Pid, p.Pid, p.Uid
	}
	s.Log(e)
}

// sysLog logs as system_server.
func (s *System) sysLog(buffer string, prio Priority, tag, msg string) {
	p := s.systemServer
	e := Entry{Prio: prio, Tag: tag, Msg: msg, Buffer: buffer, Uid: 1000}
	if p != nil {
		e.Pid = p.Pid
		e.Tid = p.Pid + 18 + int(uint32(len(tag))%40)
	}
	s.Log(e)
}

func (s *System) eventLog(tag, msg string) {
	p := s.systemServer
	e := Entry{Prio: Info, Tag: tag, Msg: msg, Buffer: "events", Uid: 1000}
	if p != nil {
		e.Pid = p.Pid
		e.Tid = p.Pid + 25
	}
	s.Log(e)
}

// newHashLocked returns a fresh identityHashCode-like 7-hex-digit value.
func (s *System) newHashLocked() uint32 {
	for {
		h := uint32(0x1000000 + s.rng.Intn(0xf000000))
		if !s.hashes[h] {
			s.hashes[h] = true
			return h
		}
	}
}

// ---- boot ----

// waitBoot waits until SystemUI has started and the launcher drew its
// first frame.
func (s *System) waitBoot() error {
	s.mu.Lock()
	ui := s.systemui
	home := s.topActivityLocked()
	s.mu.Unlock()
	uiReady := make(chan struct{})
	if ui == nil || !ui.Post(func() { close(uiReady) }) {
		close(uiReady)
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	for _, ch := range []<-chan struct{}{uiReady, home.disp} {
		select {
		case <-ch:
		case <-t.C:
			return errors.New("timed out waiting for the launcher")
		}
	}
	return nil
}

type bootProc struct {
	name  string
	args  string
	uid   int
	wchan string
	ref   **Process
}

func (s *System) boot() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := func(o procOpts) (*Process, error) { return s.newProcLocked(o) }
	var err error
	if s.initProc, err = mk(procOpts{pid: 1, uid: 0, name: "init", args: []string{"init", "second_stage"}, kind: kindNative, vsz: 10782796, rss: 9556}); err != nil {
		return err
	}
	kthreadd, err := mk(procOpts{pid: 2, uid: 0, name: "kthreadd", kind: kindKernel, wchan: "kthreadd"})
	if err != nil {
		return err
	}
	for i, k := range []string{"rcu_gp", "rcu_par_gp", "kworker/0:0H", "mm_percpu_wq", "ksoftirqd/0", "rcu_preempt", "migration/0", "cpuhp/0", "kdevtmpfs", "kswapd0"} {
		wchan := "rescuer_thread"
		switch {
		case strings.HasPrefix(k, "ksoftirqd"), strings.HasPrefix(k, "migration"), strings.HasPrefix(k, "cpuhp"):
			wchan = "smpboot_thread_fn"
		case k == "rcu_preempt":
			wchan = "rcu_gp_kthread"
		case strings.HasPrefix(k, "kworker"):
			wchan = "worker_thread"
		case k == "kdevtmpfs":
			wchan = "devtmpfsd"
		case k == "kswapd0":
			wchan = "kswapd"
		}
		if _, err := mk(procOpts{pid: 3 + i, ppid: kthreadd.Pid, uid: 0, name: k, kind: kindKernel, wchan: wchan}); err != nil {
			return err
		}
	}
	s.lastPid = 140 + s.rng.Intn(40)
	natives := []bootProc{
		{"ueventd", "/system/bin/ueventd", 0, "do_sys_poll", nil},
		{"logd", "/system/bin/logd", 1036, "sigsuspend", nil},
		{"lmkd", "/system/bin/lmkd", 1069, "do_epoll_wait", nil},
		{"servicemanager", "/system/bin/servicemanager", 1000, "do_epoll_wait", nil},
		{"hwservicemanager", "/system/bin/hwservicemanager", 1000, "do_epoll_wait", nil},
		{"vold", "/system/bin/vold --blkid_context=u:r:blkid:s0 --blkid_untrusted_context=u:r:blkid_untrusted:s0 --fsck_context=u:r:fsck:s0 --fsck_untrusted_context=u:r:fsck_untrusted:s0", 0, "binder_thread_read", nil},
		{"surfaceflinger", "/system/bin/surfaceflinger", 1000, "do_epoll_wait", nil},
		{"zygote64", "zygote64", 0, "do_sys_poll", &s.zygote},
		{"zygote", "zygote", 0, "do_sys_poll", nil},
		{"netd", "/system/bin/netd", 0, "binder_thread_read", nil},
		{"adbd", "/apex/com.android.adbd/bin/adbd --root_seclabel=u:r:su:s0", 2000, "do_epoll_wait", &s.adbd},
	}
	for _, n := range natives {
		uid := n.uid
		if n.name == "adbd" && s.cfg.Rooted {
			uid = 0
		}
		o := procOpts{ppid: 1, uid: uid, name: n.name, args: strings.Fields(n.args), kind: kindNative, wchan: n.wchan, persist: true}
		if n.name == "zygote64" {
			o.vsz, o.rss = 14800000+s.rng.Intn(300000), 110000+s.rng.Intn(20000)
		}
		if n.name == "zygote" {
			o.vsz, o.rss = 1680000+s.rng.Intn(30000), 100000+s.rng.Intn(15000)
		}
		p, err := mk(o)
		if err != nil {
			return err
		}
		if n.ref != nil {
			*n.ref = p
		}
		switch n.name {
		case "logd":
			s.logAs(p, "main", Info, "auditd", "type=2000 audit(0.0:1): state=initialized audit_enabled=0 res=1")
			s.logAs(p, "main", Info, "logd", "logd.auditd: start")
		case "servicemanager":
			s.logAs(p, "main", Info, "servicemanager", "Starting sm instance on /dev/binder")
		case "surfaceflinger":
			s.logAs(p, "main", Info, "SurfaceFlinger", "SurfaceFlinger is starting")
		case "zygote64":
			s.logAs(p, "main", Debug, "Zygote", "begin preload")
			s.logAs(p, "main", Info, "Zygote", "Preloading classes...")
		case "adbd":
			s.logAs(p, "main", Info, "adbd", "adbd started")
		}
	}
	ss, err := mk(procOpts{ppid: s.zygote.Pid, uid: 1000, name: "system_server", kind: kindApp, vsz: 16500000 + s.rng.Intn(400000), rss: 220000 + s.rng.Intn(40000), persist: true})
	if err != nil {
		return err
	}
	s.systemServer = ss
	s.logAs(s.zygote, "main", Debug, "Zygote", "end preload")
	s.logAs(s.zygote, "main", Info, "Zygote", fmt.Sprintf("System server process %d has been created", ss.Pid))
	s.sysLog("system", Info, "SystemServer", "InitBeforeStartServices")
	s.sysLog("system", Info, "SystemServiceManager", "Starting com.android.server.wm.ActivityTaskManagerService$Lifecycle")
	s.sysLog("system", Info, "SystemServiceManager", "Starting com.android.server.am.ActivityManagerService$Lifecycle")
	s.sysLog("system", Info, "SystemServiceManager", "Starting com.android.server.pm.PackageManagerService")
	s.sysLog("system", Info, "ActivityManager", "System now ready")

	s.installBuiltinsLocked()
	if s.cfg.Restore != nil {
		s.restoreLocked(s.cfg.Restore)
	}
	ui, err := s.startAppProcessLocked(s.packages[systemuiPkg], systemuiPkg, "service", "{com.android.systemui/com.android.systemui.SystemUIService}")
	if err != nil {
		return err
	}
	ui.persist = true
	s.systemui = ui
	s.ensureHomeLocked()
	if !s.cfg.Booting {
		s.completeBootLocked()
	}
	return nil
}
