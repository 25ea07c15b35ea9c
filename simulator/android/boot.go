package android

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// What a device keeps across a reboot, the shutdown that hands it over, the
// end of a boot (sys.boot_completed, BOOT_COMPLETED) and the reboot
// command.

// Persistent is what survives a reboot: the installed packages (by name,
// uid, version, code path and APK; not their code, which the owner of the
// system gives back with Install), /data, /cache and the shared storage,
// settings and persist.* properties. Logs, processes, tasks and uptime do
// not survive.
type Persistent struct {
	packages []persistedPackage
	uids     map[string]int // every package's uid, system ones too
	trees    map[string]*fnode
	settings map[string]map[string]string
	props    map[string]string
	nextUid  int
}

type persistedPackage struct {
	pkg      Package
	codePath string
	first    time.Time
	inst     time.Time
}

// Has reports whether the package was installed at shutdown.
func (p *Persistent) Has(name string) bool {
	for _, pp := range p.packages {
		if pp.pkg.Name == name {
			return true
		}
	}
	return false
}

// persistentDirs are the file system trees kept across a reboot.
var persistentDirs = []string{"/data", "/cache", sdcardReal}

// Shutdown powers the system off and returns what the next boot keeps:
// every process dies, streaming logcats and shells end (as Close).
func (s *System) Shutdown() *Persistent {
	st := &Persistent{uids: map[string]int{}, trees: map[string]*fnode{}, settings: map[string]map[string]string{}, props: map[string]string{}}
	s.mu.Lock()
	for _, n := range s.packageNamesLocked() {
		ps := s.packages[n]
		st.uids[n] = ps.pkg.Uid
		if isBuiltin(ps.pkg) {
			continue
		}
		cp := *ps.pkg
		cp.App = nil
		st.packages = append(st.packages, persistedPackage{pkg: cp, codePath: ps.codePath, first: ps.first, inst: ps.installed})
	}
	for ns, m := range s.settings {
		st.settings[ns] = map[string]string{}
		for k, v := range m {
			st.settings[ns][k] = v
		}
	}
	for k, v := range s.props {
		if strings.HasPrefix(k, "persist.") {
			st.props[k] = v
		}
	}
	st.nextUid = s.nextUid
	s.mu.Unlock()
	s.fs.mu.Lock()
	for _, d := range persistentDirs {
		if n := s.fs.lookup(d); n != nil {
			st.trees[d] = copyTree(n)
		}
	}
	s.fs.mu.Unlock()
	s.Close()
	return st
}

// isBuiltin reports a package that boot installs itself.
func isBuiltin(p *Package) bool { return p.System && p.APK == nil }

func copyTree(n *fnode) *fnode {
	cp := *n
	if n.children != nil {
		cp.children = make(map[string]*fnode, len(n.children))
		for k, c := range n.children {
			cp.children[k] = copyTree(c)
		}
	}
	return &cp
}

// restoreLocked brings back what Shutdown kept, after the built-in
// packages were installed.
func (s *System) restoreLocked(st *Persistent) {
	for ns, m := range st.settings {
		s.settings[ns] = map[string]string{}
		for k, v := range m {
			s.settings[ns][k] = v
		}
	}
	for k, v := range st.props {
		s.props[k] = v
	}
	if st.nextUid > s.nextUid {
		s.nextUid = st.nextUid
	}
	for name, uid := range st.uids {
		if ps := s.packages[name]; ps != nil {
			ps.pkg.Uid = uid
		}
	}
	for _, pp := range st.packages {
		cp := pp.pkg
		ps := &pkgState{pkg: &cp, codePath: pp.codePath, installed: pp.inst, first: pp.first, hash: s.newHashLocked()}
		s.packages[cp.Name] = ps
	}
	s.refreshLauncherLocked()
	s.fs.mu.Lock()
	for d, tree := range st.trees {
		parent := s.fs.mkdirAll(d[:strings.LastIndexByte(d, '/')])
		parent.children[d[strings.LastIndexByte(d, '/')+1:]] = copyTree(tree)
	}
	s.fs.mu.Unlock()
}

// completeBootLocked ends the boot: sys.boot_completed=1, the boot
// animation stops, BOOT_COMPLETED goes out.
func (s *System) completeBootLocked() {
	s.props["sys.boot_completed"] = "1"
	s.props["dev.bootcomplete"] = "1"
	s.props["init.svc.bootanim"] = "stopped"
	s.eventLog("boot_progress_enable_screen", fmt.Sprint(s.clock.Uptime().Milliseconds()))
	s.sysLog("system", Info, "ActivityManager", "Finished processing BOOT_COMPLETED for u0")
}

// CompleteBoot ends a boot started with Config.Booting: it sets
// sys.boot_completed and sends BOOT_COMPLETED to the manifest receivers
// that declare it. It does nothing on a booted system.
func (s *System) CompleteBoot() {
	s.mu.Lock()
	if s.closed || s.props["sys.boot_completed"] == "1" {
		s.mu.Unlock()
		return
	}
	s.completeBootLocked()
	s.mu.Unlock()
	s.SendBroadcast(Intent{Action: ActionBootCompleted})
}

// ActionBootCompleted is the broadcast sent when a boot has completed.
const ActionBootCompleted = "android.intent.action.BOOT_COMPLETED"

// BootCompleted reports sys.boot_completed=1.
func (s *System) BootCompleted() bool { return s.GetProp("sys.boot_completed") == "1" }

// ---- the reboot command ----

// PowerAction is what the device is asked to do with its power
// (sys.powerctl).
type PowerAction string

// Power actions.
const (
	PowerReboot   PowerAction = "reboot"
	PowerShutdown PowerAction = "shutdown"
)

// PowerFunc carries out a power action (Config.Power). It returns at once;
// the system is closed when the device goes down.
type PowerFunc func(action PowerAction, reason string) error

var registerPower sync.Once

// cmdReboot is /system/bin/reboot: reboot [-n] [-p] [-f] [REASON].
func cmdReboot(c *cmdCtx) int {
	action, reason := PowerReboot, ""
	for _, a := range c.args[1:] {
		switch {
		case a == "-p":
			action = PowerShutdown
		case a == "-n", a == "-f":
		case strings.HasPrefix(a, "-"):
			c.errf("usage: reboot [-n] [-p] [-f] [reason]\n")
			return 1
		default:
			reason = a
		}
	}
	fn := c.sys.cfg.Power
	var err error
	if fn == nil {
		err = errors.New("no power control")
	} else {
		err = fn(action, reason)
	}
	if err != nil {
		c.errf("reboot: %v\n", err)
		return 255
	}
	// As on a device: the command waits until the system goes down.
	<-c.ctx.Done()
	return 0
}
