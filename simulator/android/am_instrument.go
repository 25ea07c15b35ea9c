package android

import (
	"fmt"
	"strings"
)

// amInstrument is `am instrument [options] COMPONENT`. No package of the
// simulated device declares an instrumentation, so every run fails as on a
// device: with -w the activity manager's report on stdout (its keys sorted,
// as Instrument.java's text reporter prints them), then the
// AndroidException's stack trace on stderr and exit status 1 (BaseCommand
// catching the exception). Argument errors print "Error: ..." as
// BaseCommand does for an IllegalArgumentException.
func amInstrument(c *cmdCtx, args []string) int {
	wait := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		args = args[1:]
		switch opt {
		case "-w":
			wait = true
		case "-r", "-m", "--no-window-animation", "--no-hidden-api-checks", "--no-test-api-access",
			"--no-isolated-storage", "--no-restart", "--no-logcat", "--always-check-signature", "--instrument-sdk-sandbox":
		case "-p", "--user", "--abi", "-f":
			if len(args) == 0 {
				c.errf("Error: Argument expected after \"%s\"\n", opt)
				return 1
			}
			args = args[1:]
		case "-e":
			if len(args) < 2 {
				c.errf("Error: Argument expected after \"%s\"\n", opt)
				return 1
			}
			args = args[2:]
		default:
			c.errf("Error: Unknown option: %s\n", opt)
			return 1
		}
	}
	if len(args) == 0 {
		c.errf("Error: Argument expected after \"%s\"\n", lastOr(c.args, "instrument"))
		return 1
	}
	pkg, cls, ok := strings.Cut(args[0], "/")
	if !ok || pkg == "" || cls == "" {
		c.errf("Error: Bad component name: %s\n", args[0])
		return 1
	}
	if strings.HasPrefix(cls, ".") {
		cls = pkg + cls
	}
	flat := pkg + "/" + cls
	if wait {
		c.outf("INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: ComponentInfo{%s}\n", flat)
		c.outf("INSTRUMENTATION_STATUS: id=ActivityManagerService\n")
		c.outf("INSTRUMENTATION_STATUS_CODE: -1\n")
	}
	c.errf("%s", instrumentationFailed(flat))
	return 1
}

// instrumentationFailed is the stack trace Android 11's am prints.
func instrumentationFailed(component string) string {
	return fmt.Sprintf("android.util.AndroidException: INSTRUMENTATION_FAILED: %s\n"+
		"\tat com.android.commands.am.Instrument.run(Instrument.java:519)\n"+
		"\tat com.android.commands.am.Am.runInstrument(Am.java:202)\n"+
		"\tat com.android.commands.am.Am.onRun(Am.java:80)\n"+
		"\tat com.android.internal.os.BaseCommand.run(BaseCommand.java:60)\n"+
		"\tat com.android.commands.am.Am.main(Am.java:50)\n"+
		"\tat com.android.internal.os.RuntimeInit.nativeFinishInit(Native Method)\n"+
		"\tat com.android.internal.os.RuntimeInit.main(RuntimeInit.java:399)\n", component)
}

func lastOr(args []string, def string) string {
	if len(args) == 0 {
		return def
	}
	return args[len(args)-1]
}
