package android

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

func javaTrace(frames ...string) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString("\tat " + f + "\n")
	}
	return b.String()
}

var amTrace = javaTrace(
	"com.android.server.am.ActivityManagerShellCommand.onCommand(ActivityManagerShellCommand.java:190)",
	"android.os.BasicShellCommandHandler.exec(BasicShellCommandHandler.java:98)",
	"android.os.ShellCommand.exec(ShellCommand.java:44)",
	"com.android.server.am.ActivityManagerService.onShellCommand(ActivityManagerService.java:10521)",
	"android.os.Binder.shellCommand(Binder.java:929)",
	"android.os.Binder.onTransact(Binder.java:813)",
	"android.app.IActivityManager$Stub.onTransact(IActivityManager.java:5053)",
	"com.android.server.am.ActivityManagerService.onTransact(ActivityManagerService.java:2867)",
	"android.os.Binder.execTransactInternal(Binder.java:1159)",
	"android.os.Binder.execTransact(Binder.java:1123)",
)

// exception prints a Java exception the way ShellCommand reports it.
func (c *cmdCtx) exception(sub string, err error) int {
	exc := "java.lang.IllegalArgumentException"
	msg := err.Error()
	var ie *IntentError
	if errors.As(err, &ie) {
		exc = ie.Exception
	}
	var se *StartError
	if errors.As(err, &se) && se.Kind == "permission" {
		exc = "java.lang.SecurityException"
	}
	c.errf("\nException occurred while executing '%s':\n%s: %s\n%s", sub, exc, msg,
		javaTrace("android.content.Intent.parseCommandArgs(Intent.java:11553)")+amTrace)
	return 255
}

func cmdCmd(c *cmdCtx) int {
	if len(c.args) < 2 {
		c.errf("cmd: No service specified; use -l to list all running services. Use -w to start and wait for a service.\n")
		return 20
	}
	sub := *c
	switch c.args[1] {
	case "activity":
		sub.args = append([]string{"am"}, c.args[2:]...)
		return cmdAm(&sub)
	case "package":
		sub.args = append([]string{"pm"}, c.args[2:]...)
		return cmdPm(&sub)
	case "input":
		sub.args = append([]string{"input"}, c.args[2:]...)
		return cmdInput(&sub)
	case "settings":
		sub.args = append([]string{"settings"}, c.args[2:]...)
		return cmdSettings(&sub)
	case "window":
		sub.args = append([]string{"wm"}, c.args[2:]...)
		return cmdWm(&sub)
	case "-l":
		for _, n := range []string{"activity", "input", "package", "settings", "window"} {
			c.outf("%s\n", n)
		}
		return 0
	}
	c.errf("cmd: Can't find service: %s\n", c.args[1])
	return 20
}

const amUsage = `Activity manager (activity) commands:
  help
      Print this help text.
  start-activity [-D] [-N] [-W] [-P <FILE>] [--start-profiler <FILE>]
          [--sampling INTERVAL] [--streaming] [-R COUNT] [-S]
          [--track-allocation] [--user <USER_ID> | current] <INTENT>
      Start an Activity.  Options are:
      -W: wait for launch to complete
      -S: force stop the target app before starting the activity
  start-service [--user <USER_ID> | current] <INTENT>
  broadcast [--user <USER_ID> | all | current] <INTENT>
  force-stop [--user <USER_ID> | all | current] <PACKAGE>
  kill [--user <USER_ID> | all | current] <PACKAGE>
  kill-all
  stack list
  get-current-user
`

func cmdAm(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) == 0 {
		c.outf("%s", amUsage)
		return 0
	}
	s := c.sys
	sub, rest := args[0], args[1:]
	fromPid := s.systemServer.Pid
	if c.proc != nil {
		fromPid = c.proc.Pid
	}
	switch sub {
	case "help", "-h":
		c.outf("%s", amUsage)
		return 0
	case "start", "start-activity":
		return amStart(c, sub, rest)
	case "broadcast":
		var userErr error
		in, _, err := parseIntentArgs(rest, func(opt string, next func() (string, error)) (bool, error) {
			switch opt {
			case "--user", "--receiver-permission":
				_, err := next()
				return true, err
			case "--allow-background-activity-starts", "--async", "-W":
				return true, nil
			}
			return false, nil
		})
		if err == nil {
			err = userErr
		}
		if err != nil {
			return c.exception(sub, err)
		}
		in.Flags |= FlagReceiverFromShell
		c.outf("Broadcasting: %s\n", in)
		s.broadcast(in, true)
		c.outf("Broadcast completed: result=0\n")
		return 0
	case "startservice", "start-service", "start-foreground-service", "startforegroundservice":
		in, _, err := parseIntentArgs(rest, userOpt)
		if err != nil {
			return c.exception(sub, err)
		}
		c.outf("Starting service: %s\n", in)
		c.errf("Error: Not found; no service started.\n")
		return 0
	case "stopservice", "stop-service":
		in, _, err := parseIntentArgs(rest, userOpt)
		if err != nil {
			return c.exception(sub, err)
		}
		c.outf("Stopping service: %s\n", in)
		c.outf("Service not stopped: Unable to find service to stop.\n")
		return 0
	case "force-stop", "kill":
		pkg := lastNonOption(rest)
		if pkg == "" {
			return c.exception(sub, argErr("Argument expected after \"%s\"", sub))
		}
		if sub == "kill" {
			s.killBackground(pkg)
			return 0
		}
		s.forceStop(pkg, fromPid)
		return 0
	case "kill-all":
		s.mu.Lock()
		var pkgs []string
		for _, p := range s.processesLocked() {
			if p.kind == kindApp && !p.persist && p.Package != "" {
				pkgs = append(pkgs, p.Package)
			}
		}
		s.mu.Unlock()
		for _, p := range pkgs {
			s.killBackground(p)
		}
		return 0
	case "get-current-user":
		c.outf("0\n")
		return 0
	case "stack":
		if len(rest) == 0 || rest[0] != "list" {
			c.errf("Error: unknown command '%s'\n", strings.Join(rest, " "))
			return 255
		}
		amStackList(c)
		return 0
	case "to-uri", "to-intent-uri":
		in, _, err := parseIntentArgs(rest, nil)
		if err != nil {
			return c.exception(sub, err)
		}
		c.outf("#Intent;%s;end\n", strings.ReplaceAll(in.shortString(false, true, false), " ", ";"))
		return 0
	case "instrument":
		return amInstrument(c, rest)
	}
	c.errf("Unknown command: %s\n", sub)
	return 255
}

func userOpt(opt string, next func() (string, error)) (bool, error) {
	if opt == "--user" {
		_, err := next()
		return true, err
	}
	return false, nil
}

func amStart(c *cmdCtx, sub string, rest []string) int {
	s := c.sys
	wait, stop := false, false
	repeat := 0
	in, _, err := parseIntentArgs(rest, func(opt string, next func() (string, error)) (bool, error) {
		switch opt {
		case "-W":
			wait = true
		case "-S":
			stop = true
		case "-D", "-N", "--streaming", "--track-allocation", "--task-overlay", "--lock-task":
		case "-P", "--start-profiler", "--attach-agent", "--attach-agent-bind", "--user", "--receiver-permission":
			_, err := next()
			return true, err
		case "--sampling", "-R", "--display", "--windowingMode", "--activityType", "--task":
			v, err := next()
			if err != nil {
				return true, err
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return true, numErr(v)
			}
			if opt == "-R" {
				repeat = n
			}
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return c.exception(sub, err)
	}
	if repeat < 1 {
		repeat = 1
	}
	fromPid := s.systemServer.Pid
	if c.proc != nil {
		fromPid = c.proc.Pid
	}
	status := 0
	for r := 0; r < repeat; r++ {
		if stop {
			pkg := in.Component.Package
			if pkg == "" {
				s.mu.Lock()
				pk, _, err := s.resolveActivityLocked(in)
				s.mu.Unlock()
				if err != nil {
					c.errf("Error: Intent does not match any activities: %s\n", in)
					return 1
				}
				pkg = pk.pkg.Name
			}
			c.outf("Stopping: %s\n", pkg)
			s.forceStop(pkg, fromPid)
		}
		c.outf("Starting: %s\n", in)
		t0 := time.Now()
		res, err := s.startActivity(c.ctx, startReq{in: in, wait: wait, callerUid: c.sh.uid, checkPerm: true})
		out := c.stderr
		if wait {
			out = c.stdout
		}
		var se *StartError
		switch {
		case errors.As(err, &se) && se.Kind == "permission":
			return c.exception(sub, err)
		case errors.As(err, &se) && se.Kind == "class-not-found":
			fmt.Fprintf(out, "Error type 3\nError: %s\n", se.Error())
			status = 1
			continue
		case errors.As(err, &se):
			fmt.Fprintf(out, "Error: %s\n", se.Error())
			status = 1
			continue
		case err != nil:
			if c.ctx.Err() != nil {
				return 130
			}
			c.errf("Error: %v\n", err)
			return 1
		}
		if res.Warning != "" {
			fmt.Fprintf(out, "Warning: %s\n", res.Warning)
		}
		if wait {
			c.outf("Status: %s\n", res.Status)
			c.outf("LaunchState: %s\n", res.LaunchState)
			c.outf("Activity: %s\n", res.Activity)
			if res.TotalTime >= 0 {
				c.outf("TotalTime: %d\n", res.TotalTime.Milliseconds())
			}
			wt := res.WaitTime.Milliseconds()
			if real := time.Since(t0).Milliseconds(); wt < real && res.TotalTime < 0 {
				wt = real
			}
			c.outf("WaitTime: %d\n", wt)
			c.outf("Complete\n")
		}
		if r+1 < repeat && res.Record != nil {
			res.Record.Finish()
		}
	}
	return status
}

func amStackList(c *cmdCtx) {
	s := c.sys
	defer c.capture()()
	s.mu.Lock()
	defer s.mu.Unlock()
	w, h := s.cfg.Screen.Width, s.cfg.Screen.Height
	for _, t := range s.tasks {
		top := t.top()
		if top == nil {
			continue
		}
		c.outf("RootTask id=%d bounds=[0,0][%d,%d] displayId=0 userId=0\n", t.id, w, h)
		c.outf(" configuration={1.0 ?mcc?mnc [en_US] ldltr sw411dp w411dp h683dp 420dpi nrml long port finger -keyb/v/h -nav/h winConfig={ mBounds=Rect(0, 0 - %d, %d) mAppBounds=Rect(0, 0 - %d, %d) mWindowingMode=fullscreen mDisplayWindowingMode=fullscreen mActivityType=%s}}\n", w, h, w, h, taskType(t))
		c.outf("  taskId=%d: %s bounds=[0,0][%d,%d] userId=0 visible=%t topActivity=ComponentInfo{%s}\n",
			t.id, t.acts[0].comp.Flatten(), w, h, t == s.tasks[0], top.comp.Flatten())
	}
}

func taskType(t *task) string {
	if t.home {
		return "home"
	}
	return "standard"
}

// ---- dumpsys ----

func cmdDumpsys(c *cmdCtx) int {
	args := c.args[1:]
	if len(args) == 0 || args[0] == "-l" {
		c.outf("Currently running services:\n")
		for _, n := range []string{"activity", "input", "meminfo", "package", "settings", "window"} {
			c.outf("  %s\n", n)
		}
		return 0
	}
	svc, rest := args[0], args[1:]
	switch svc {
	case "activity":
		what := ""
		if len(rest) > 0 {
			what = rest[0]
		}
		switch what {
		case "activities", "a":
			dumpActivities(c)
		case "top":
			dumpTop(c)
		case "processes", "p":
			dumpProcesses(c)
		case "":
			dumpProcesses(c)
			c.outf("-------------------------------------------------------------------------------\n")
			dumpActivities(c)
		default:
			c.outf("Bad activity command, or no activities match: %s\n  Use -h for help.\n", what)
		}
		return 0
	case "package":
		name := ""
		for _, a := range rest {
			if !strings.HasPrefix(a, "-") {
				name = a
			}
		}
		if name == "" {
			for _, p := range c.sys.Packages() {
				dumpPackage(c, p.Name)
			}
			return 0
		}
		dumpPackage(c, name)
		return 0
	case "window":
		dumpWindow(c)
		return 0
	case "meminfo":
		dumpMeminfo(c, rest)
		return 0
	}
	c.errf("Can't find service: %s\n", svc)
	return 0
}

func (s *System) taskString(t *task) string {
	return fmt.Sprintf("Task{%x #%d visible=%t type=%s mode=fullscreen translucent=false A=%d:%s U=0 StackId=%d sz=%d}",
		t.hash, t.id, len(s.tasks) > 0 && s.tasks[0] == t, taskType(t), t.uid, t.affinity, t.id, len(t.acts))
}

func (s *System) procRecord(p *Process) string {
	return fmt.Sprintf("ProcessRecord{%x %d:%s/%s}", (uint32(p.Pid)*2654435761)&0xfffffff|0x1000000, p.Pid, p.Name, formatUid(p.Uid))
}

func dumpActivities(c *cmdCtx) {
	s := c.sys
	defer c.capture()()
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	b.WriteString("ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n")
	b.WriteString("Display #0 (activities from top to bottom):\n")
	top := s.topActivityLocked()
	for _, t := range s.tasks {
		if len(t.acts) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n  Stack #%d: type=%s mode=fullscreen\n", t.id, taskType(t))
		b.WriteString("  isSleeping=false\n  mBounds=Rect(0, 0 - 0, 0)\n  mCreatedByOrganizer=false\n")
		if t.top() == top {
			fmt.Fprintf(&b, "    mResumedActivity: %s\n", top)
		}
		fmt.Fprintf(&b, "    * %s\n", s.taskString(t))
		b.WriteString("      mBounds=Rect(0, 0 - 0, 0)\n      mMinWidth=-1 mMinHeight=-1\n      mLastNonFullscreenBounds=null\n")
		fmt.Fprintf(&b, "      userId=0 effectiveUid=%s mCallingUid=%s mUserSetupComplete=true mCallingPackage=%s\n",
			formatUid(t.uid), formatUid(t.acts[0].caller), callingPackage(t.acts[0].caller))
		fmt.Fprintf(&b, "      affinity=%d:%s\n", t.uid, t.affinity)
		fmt.Fprintf(&b, "      intent={%s}\n", t.rootIntent.shortString(false, true, false))
		fmt.Fprintf(&b, "      mActivityComponent=%s\n", t.acts[0].comp)
		fmt.Fprintf(&b, "      rootWasReset=false mNeverRelinquishIdentity=true mReuseTask=false mLockTaskAuth=LOCK_TASK_AUTH_PINNABLE\n")
		fmt.Fprintf(&b, "      Activities=[%s]\n", joinActs(t.acts))
		for i := len(t.acts) - 1; i >= 0; i-- {
			a := t.acts[i]
			state := "STOPPED"
			if a == top {
				state = "RESUMED"
			}
			pk := s.packages[a.comp.Package]
			base := ""
			if pk != nil {
				base = pk.apk()
			}
			fmt.Fprintf(&b, "      * Hist #%d: %s\n", i, a)
			fmt.Fprintf(&b, "          packageName=%s processName=%s\n", a.comp.Package, a.info.Process)
			fmt.Fprintf(&b, "          launchedFromUid=%d launchedFromPackage=%s launchedFromFeature=null userId=0\n", a.caller, callingPackage(a.caller))
			fmt.Fprintf(&b, "          app=%s\n", s.procRecord(a.proc))
			fmt.Fprintf(&b, "          %s\n", a.intent)
			fmt.Fprintf(&b, "          rootOfTask=%t task=%s\n", i == 0, s.taskString(t))
			fmt.Fprintf(&b, "          taskAffinity=%d:%s\n", t.uid, a.info.TaskAffinity)
			fmt.Fprintf(&b, "          mActivityComponent=%s\n", a.comp)
			fmt.Fprintf(&b, "          baseDir=%s\n", base)
			fmt.Fprintf(&b, "          dataDir=/data/user/0/%s\n", a.comp.Package)
			fmt.Fprintf(&b, "          stateNotNeeded=%t componentSpecified=%t mActivityType=%s\n", t.home, !a.intent.Component.IsZero(), taskType(t))
			fmt.Fprintf(&b, "          state=%s stopped=%t delayedResume=false finishing=false\n", state, state != "RESUMED")
			fmt.Fprintf(&b, "          keysPaused=false inHistory=true setVisible=%t visible=%t sleeping=false idle=true mStartingWindowState=STARTING_WINDOW_REMOVED\n", state == "RESUMED", state == "RESUMED")
			fmt.Fprintf(&b, "          occludesParent=true noDisplay=false immersive=false launchMode=0\n")
			fmt.Fprintf(&b, "          mActivityType=%s\n", taskType(t))
			if d := a.delay.Load(); d >= 0 {
				fmt.Fprintf(&b, "          nowVisible=%t lastVisibleTime=-%s\n", state == "RESUMED", strings.TrimPrefix(formatDurationMs(s.clock.Now().Sub(a.created).Milliseconds()), "+"))
			}
		}
	}
	if top != nil {
		fmt.Fprintf(&b, "\n ResumedActivity: %s\n", top)
	}
	fmt.Fprintf(&b, "\n  mCurTaskIdForUser={0=%d}\n", s.nextTaskID-1)
	b.WriteString("  mUserStackInFront={}\n  isHomeRecentsComponent=true  KeyguardController:\n    mKeyguardShowing=false\n    mAodShowing=false\n    mKeyguardGoingAway=false\n    Occluded=false DismissingKeyguardActivity=null at display=0\n    mDismissalRequested=false\n\n  LockTaskController:\n    mLockTaskModeState=NONE\n")
	c.outf("%s", b.String())
}

func joinActs(as []*Activity) string {
	var parts []string
	for _, a := range as {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, ", ")
}

func callingPackage(uid int) string {
	switch uid {
	case 2000:
		return "com.android.shell"
	case 0:
		return "null"
	case 1000:
		return "android"
	}
	return "null"
}

func dumpTop(c *cmdCtx) {
	s := c.sys
	s.mu.Lock()
	a := s.topActivityLocked()
	s.mu.Unlock()
	if a == nil {
		return
	}
	c.outf("TASK %d:%s id=%d userId=0\n", a.task.uid, a.task.affinity, a.task.id)
	c.outf("  ACTIVITY %s %x pid=%d\n", a.comp, a.hash, a.proc.Pid)
	c.outf("    Local Activity %x State:\n      mResumed=true mStopped=false mFinished=false\n      mIsChangingConfigurations=false\n      mCurrentConfig={1.0 ?mcc?mnc [en_US] ldltr sw411dp w411dp h683dp 420dpi nrml long port finger -keyb/v/h -nav/h}\n", a.winHash)
	c.outf("    ViewRoot:\n      mAdded=true mRemoved=false\n    View Hierarchy:\n")
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		if n == nil || depth > 100 {
			return
		}
		cls := n.Class
		if cls == "" {
			cls = "android.view.View"
		}
		id := ""
		if n.ResourceID != "" {
			id = " #" + n.ResourceID
		}
		c.outf("%s%s{%x V.E...... ........ %d,%d-%d,%d%s}\n", strings.Repeat("  ", depth+3), cls, a.winHash+uint32(depth), n.Bounds.Left, n.Bounds.Top, n.Bounds.Right, n.Bounds.Bottom, id)
		for _, ch := range n.Children {
			walk(ch, depth+1)
		}
	}
	walk(a.Content(), 0)
}

func dumpProcesses(c *cmdCtx) {
	s := c.sys
	defer c.capture()()
	s.mu.Lock()
	defer s.mu.Unlock()
	c.outf("ACTIVITY MANAGER RUNNING PROCESSES (dumpsys activity processes)\n  All known processes:\n")
	for _, p := range s.processesLocked() {
		if p.kind != kindApp {
			continue
		}
		c.outf("  *APP* UID %d %s\n", p.Uid, s.procRecord(p))
		c.outf("    user #0 uid=%d gids={50%03d, 20%03d, 9997}\n", p.Uid, p.Uid%1000, p.Uid%1000)
		c.outf("    pid=%d starting=false\n", p.Pid)
	}
	top := s.topProcessLocked()
	if top != nil {
		c.outf("\n  mPreviousProcess: null\n  mHomeProcess: %s\n  mTopProcess: %s\n", s.procRecord(s.launcherProcOrNil()), s.procRecord(top))
	}
}

func (s *System) launcherProcOrNil() *Process {
	if s.launcherProc != nil {
		return s.launcherProc
	}
	return &Process{Name: "null"}
}

func dumpWindow(c *cmdCtx) {
	s := c.sys
	defer c.capture()()
	s.mu.Lock()
	defer s.mu.Unlock()
	w, h := s.cfg.Screen.Width, s.cfg.Screen.Height
	c.outf("WINDOW MANAGER WINDOWS (dumpsys window windows)\n")
	i := 0
	for _, t := range s.tasks {
		for j := len(t.acts) - 1; j >= 0; j-- {
			a := t.acts[j]
			c.outf("  Window #%d Window{%x u0 %s}:\n", i, a.winHash, a.comp.Flatten())
			c.outf("    mDisplayId=0 rootTaskId=%d mSession=Session{%x %d:%d} mClient=android.os.BinderProxy@%x\n", t.id, a.hash^0x5a5a5a, a.proc.Pid, a.proc.Uid, a.winHash^0x333333)
			c.outf("    mOwnerUid=%d showForAllUsers=false package=%s appop=NONE\n", a.proc.Uid, a.comp.Package)
			c.outf("    mFrame=[0,0][%d,%d] last=[0,0][%d,%d]\n", w, h, w, h)
			c.outf("    isOnScreen=%t\n    isVisible=%t\n", i == 0, i == 0)
			i++
		}
	}
	c.outf("\nWINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)\n  Display: mDisplayId=0 rootTasks=%d\n    init=%dx%d 420dpi cur=%dx%d app=%dx%d rng=%dx%d-%dx%d\n", len(s.tasks), w, h, w, h, w, h, w, w, h, h)
	top := s.topActivityLocked()
	if top != nil {
		c.outf("\n  mCurrentFocus=Window{%x u0 %s}\n", top.winHash, top.comp.Flatten())
		c.outf("  mFocusedApp=%s\n", top)
	} else {
		c.outf("\n  mCurrentFocus=null\n  mFocusedApp=null\n")
	}
}

func dumpMeminfo(c *cmdCtx, args []string) {
	s := c.sys
	target := ""
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			target = a
		}
	}
	up := s.clock.Uptime().Milliseconds()
	c.outf("Applications Memory Usage (in Kilobytes):\nUptime: %d Realtime: %d\n", up, up)
	if target == "" {
		c.outf("\nTotal PSS by process:\n")
		for _, p := range s.Processes() {
			if p.kind == kindApp {
				c.outf("%11s K: %s (pid %d)\n", fmtThousands(p.rss*6/10), p.Name, p.Pid)
			}
		}
		return
	}
	var p *Process
	if pid, err := strconv.Atoi(target); err == nil {
		p = s.ProcessByPid(pid)
	} else {
		p = s.Process(target)
	}
	if p == nil {
		c.outf("No process found for: %s\n", target)
		return
	}
	pss := p.rss * 6 / 10
	c.outf("\n** MEMINFO in pid %d [%s] **\n", p.Pid, p.Name)
	c.outf("                   Pss  Private  Private  SwapPss      Rss     Heap     Heap     Heap\n")
	c.outf("                 Total    Dirty    Clean    Dirty    Total     Size    Alloc     Free\n")
	c.outf("                ------   ------   ------   ------   ------   ------   ------   ------\n")
	c.outf("  Native Heap %8d %8d %8d %8d %8d %8d %8d %8d\n", pss/4, pss/4, 0, 12, p.rss/4, pss/3, pss/4, pss/12)
	c.outf("  Dalvik Heap %8d %8d %8d %8d %8d %8d %8d %8d\n", pss/8, pss/8, 0, 8, p.rss/8, pss/6, pss/8, pss/24)
	c.outf("        TOTAL %8d %8d %8d %8d %8d %8d %8d %8d\n", pss, pss*3/4, pss/8, 20, p.rss, pss/2, pss*3/8, pss/8)
	c.outf("\n App Summary\n                       Pss(KB)                        Rss(KB)\n                        ------                         ------\n")
	c.outf("           Java Heap: %8d                       %8d\n         Native Heap: %8d                       %8d\n", pss/8, p.rss/8, pss/4, p.rss/4)
	c.outf("\n           TOTAL PSS: %8d            TOTAL RSS: %8d       TOTAL SWAP PSS: %8d\n", pss, p.rss, 20)
}

func fmtThousands(n int) string {
	s := strconv.Itoa(n)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	return strings.Join(out, ",")
}
