package android

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ComponentName names an activity or receiver class in a package.
type ComponentName struct{ Package, Class string }

// String is flattenToShortString: "pkg/.Short" when Class starts with
// "pkg.", otherwise "pkg/full.Class".
func (c ComponentName) String() string {
	if c.Package == "" && c.Class == "" {
		return ""
	}
	if strings.HasPrefix(c.Class, c.Package+".") {
		return c.Package + "/" + c.Class[len(c.Package):]
	}
	return c.Package + "/" + c.Class
}

// Flatten is flattenToString: "pkg/full.Class".
func (c ComponentName) Flatten() string { return c.Package + "/" + c.Class }

// ShortString is ComponentName.toShortString: "{pkg/full.Class}".
func (c ComponentName) ShortString() string { return "{" + c.Package + "/" + c.Class + "}" }

// IsZero reports whether c is unset.
func (c ComponentName) IsZero() bool { return c.Package == "" && c.Class == "" }

// ParseComponent parses "pkg/.Act", "pkg/full.Class" or "pkg/Class".
func ParseComponent(s string) (ComponentName, error) {
	i := strings.IndexByte(s, '/')
	if i <= 0 || i == len(s)-1 {
		//lint:ignore ST1005 am's own text (IllegalArgumentException), printed as it is.
		return ComponentName{}, fmt.Errorf("Bad component name: %s", s)
	}
	pkg, cls := s[:i], s[i+1:]
	if cls[0] == '.' {
		cls = pkg + cls
	}
	return ComponentName{Package: pkg, Class: cls}, nil
}

// Intent flags used by the simulator.
const (
	FlagGrantReadURIPermission    = 0x00000001
	FlagGrantWriteURIPermission   = 0x00000002
	FlagDebugLogResolution        = 0x00000008
	FlagExcludeStoppedPackages    = 0x00000010
	FlagIncludeStoppedPackages    = 0x00000020
	FlagActivityMatchExternal     = 0x00000800
	FlagActivityNoHistory         = 0x40000000
	FlagActivitySingleTop         = 0x20000000
	FlagActivityNewTask           = 0x10000000
	FlagActivityMultipleTask      = 0x08000000
	FlagActivityClearTop          = 0x04000000
	FlagActivityForwardResult     = 0x02000000
	FlagActivityPreviousIsTop     = 0x01000000
	FlagActivityExcludeRecents    = 0x00800000
	FlagActivityBroughtToFront    = 0x00400000
	FlagActivityResetIfNeeded     = 0x00200000
	FlagActivityLaunchedHistory   = 0x00100000
	FlagActivityClearWhenReset    = 0x00080000
	FlagActivityNoUserAction      = 0x00040000
	FlagActivityReorderToFront    = 0x00020000
	FlagActivityNoAnimation       = 0x00010000
	FlagActivityClearTask         = 0x00008000
	FlagActivityTaskOnHome        = 0x00004000
	FlagReceiverRegisteredOnly    = 0x40000000
	FlagReceiverReplacePending    = 0x20000000
	FlagReceiverForeground        = 0x10000000
	FlagReceiverNoAbort           = 0x08000000
	FlagReceiverIncludeBackground = 0x01000000
	// FlagReceiverFromShell is the bit `am broadcast` adds.
	FlagReceiverFromShell = 0x00400000
)

// Common actions and categories.
const (
	ActionMain       = "android.intent.action.MAIN"
	ActionView       = "android.intent.action.VIEW"
	CategoryLauncher = "android.intent.category.LAUNCHER"
	CategoryHome     = "android.intent.category.HOME"
	CategoryDefault  = "android.intent.category.DEFAULT"
)

// Intent is an Android intent. Extras hold string, bool, int, int64,
// float64, []string, []int, []int64, []float64 or nil values.
type Intent struct {
	Action     string
	Data       string
	Type       string
	Categories []string
	Component  ComponentName
	Package    string
	Extras     map[string]any
	Flags      int
}

// HasCategory reports whether c is among the categories.
func (in Intent) HasCategory(c string) bool {
	for _, x := range in.Categories {
		if x == c {
			return true
		}
	}
	return false
}

// Clone returns a deep copy.
func (in Intent) Clone() Intent {
	out := in
	out.Categories = append([]string(nil), in.Categories...)
	if in.Extras != nil {
		out.Extras = make(map[string]any, len(in.Extras))
		for k, v := range in.Extras {
			out.Extras[k] = v
		}
	}
	return out
}

// String is Intent.toString: "Intent { act=… cat=[…] dat=… flg=0x… cmp=… (has extras) }".
func (in Intent) String() string {
	return "Intent { " + in.shortString(false, true, true) + " }"
}

// javaStringHash is String.hashCode, which orders ArraySet contents.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

func (in Intent) sortedCategories() []string {
	cs := append([]string(nil), in.Categories...)
	sort.SliceStable(cs, func(i, j int) bool { return javaStringHash(cs[i]) < javaStringHash(cs[j]) })
	// ArraySet holds each value once
	out := cs[:0]
	for i, c := range cs {
		dup := false
		for _, d := range cs[:i] {
			if d == c {
				dup = true
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

// shortString is Intent.toShortString(secure, comp, extras, clip=false).
func (in Intent) shortString(secure, comp, extras bool) string {
	var parts []string
	if in.Action != "" {
		parts = append(parts, "act="+in.Action)
	}
	if len(in.Categories) > 0 {
		parts = append(parts, "cat=["+strings.Join(in.sortedCategories(), ",")+"]")
	}
	if in.Data != "" {
		d := in.Data
		if secure {
			d = safeURI(d)
		}
		parts = append(parts, "dat="+d)
	}
	if in.Type != "" {
		parts = append(parts, "typ="+in.Type)
	}
	if in.Flags != 0 {
		parts = append(parts, "flg=0x"+strconv.FormatUint(uint64(uint32(in.Flags)), 16))
	}
	if in.Package != "" {
		parts = append(parts, "pkg="+in.Package)
	}
	if comp && !in.Component.IsZero() {
		parts = append(parts, "cmp="+in.Component.String())
	}
	if extras && len(in.Extras) > 0 {
		parts = append(parts, "(has extras)")
	}
	return strings.Join(parts, " ")
}

// safeURI is a rough Uri.toSafeString: it keeps the scheme and authority.
func safeURI(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		if j := strings.IndexByte(u, ':'); j > 0 {
			return u[:j+1] + "…"
		}
		return u
	}
	rest := u[i+3:]
	host := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		host = rest[:j]
		return u[:i+3] + host + "/..."
	}
	return u[:i+3] + host
}

// IntentError is an error from ParseIntentArgs, worded like the
// IllegalArgumentException or NumberFormatException that am reports.
type IntentError struct {
	Exception string // e.g. "java.lang.IllegalArgumentException"
	Msg       string
}

func (e *IntentError) Error() string { return e.Msg }

func argErr(format string, a ...any) error {
	return &IntentError{Exception: "java.lang.IllegalArgumentException", Msg: fmt.Sprintf(format, a...)}
}

func numErr(s string) error {
	return &IntentError{Exception: "java.lang.NumberFormatException", Msg: fmt.Sprintf("For input string: \"%s\"", s)}
}

// javaDecode is Integer.decode / Long.decode.
func javaDecode(s string, bits int) (int64, error) {
	t := s
	neg := false
	if strings.HasPrefix(t, "-") {
		neg, t = true, t[1:]
	} else if strings.HasPrefix(t, "+") {
		t = t[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "#"):
		base, t = 16, t[1:]
	case strings.HasPrefix(t, "0") && len(t) > 1:
		base, t = 8, t[1:]
	}
	if t == "" || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		return 0, numErr(s)
	}
	v, err := strconv.ParseInt(t, base, 64)
	if err != nil {
		return 0, numErr(s)
	}
	if neg {
		v = -v
	}
	if v > math.MaxInt64>>(64-bits) || v < -(1<<(bits-1)) {
		return 0, numErr(s)
	}
	return v, nil
}

func parseJavaInt(s string) (int, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, numErr(s)
	}
	return int(v), nil
}

func parseJavaLong(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, numErr(s)
	}
	return v, nil
}

func parseJavaFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimRight(s, "fFdD")), 32)
	if err != nil {
		return 0, numErr(s)
	}
	return v, nil
}

// splitArrayArg splits on "," not preceded by a backslash, as am does.
func splitArrayArg(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == ',' {
			cur.WriteByte(',')
			i++
			continue
		}
		if s[i] == ',' {
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	return append(out, cur.String())
}

var intentFlagOptions = map[string]int{
	"--grant-read-uri-permission":        FlagGrantReadURIPermission,
	"--grant-write-uri-permission":       FlagGrantWriteURIPermission,
	"--grant-persistable-uri-permission": 0x40,
	"--grant-prefix-uri-permission":      0x80,
	"--debug-log-resolution":             FlagDebugLogResolution,
	"--exclude-stopped-packages":         FlagExcludeStoppedPackages,
	"--include-stopped-packages":         FlagIncludeStoppedPackages,
	"--activity-brought-to-front":        FlagActivityBroughtToFront,
	"--activity-clear-top":               FlagActivityClearTop,
	"--activity-clear-when-task-reset":   FlagActivityClearWhenReset,
	"--activity-exclude-from-recents":    FlagActivityExcludeRecents,
	"--activity-launched-from-history":   FlagActivityLaunchedHistory,
	"--activity-multiple-task":           FlagActivityMultipleTask,
	"--activity-no-animation":            FlagActivityNoAnimation,
	"--activity-no-history":              FlagActivityNoHistory,
	"--activity-no-user-action":          FlagActivityNoUserAction,
	"--activity-previous-is-top":         FlagActivityPreviousIsTop,
	"--activity-reorder-to-front":        FlagActivityReorderToFront,
	"--activity-reset-task-if-needed":    FlagActivityResetIfNeeded,
	"--activity-single-top":              FlagActivitySingleTop,
	"--activity-clear-task":              FlagActivityClearTask,
	"--activity-task-on-home":            FlagActivityTaskOnHome,
	"--activity-match-external":          FlagActivityMatchExternal,
	"--receiver-registered-only":         FlagReceiverRegisteredOnly,
	"--receiver-replace-pending":         FlagReceiverReplacePending,
	"--receiver-foreground":              FlagReceiverForeground,
	"--receiver-no-abort":                FlagReceiverNoAbort,
	"--receiver-include-background":      FlagReceiverIncludeBackground,
}

// ParseIntentArgs parses am's intent syntax (Intent.parseCommandArgs):
// -a -d -t -i -c -n -p -f, --es/-e --esn --ez --ei --el --ef --eu --ecn
// --esa --eia --ela --efa (and the *al list variants), the --activity-*,
// --receiver-* and --grant-* flag options, and --selector. It stops at the
// first argument that is not an intent option and returns the rest; when
// that argument is a URI (contains ':'), a component (contains '/') or a
// package name and no -d/-n/-p was given, it is consumed like am does. The
// error names the bad option.
func ParseIntentArgs(args []string) (Intent, []string, error) {
	return parseIntentArgs(args, nil)
}

// optHandler handles command-specific options met among intent options;
// next returns the option's argument. It reports whether opt was known.
type optHandler func(opt string, next func() (string, error)) (bool, error)

func parseIntentArgs(args []string, handler optHandler) (Intent, []string, error) {
	var in Intent
	i := 0
	next := func(opt string) (string, error) {
		if i >= len(args) {
			return "", argErr("Argument expected after \"%s\"", opt)
		}
		v := args[i]
		i++
		return v, nil
	}
	putExtra := func(k string, v any) {
		if in.Extras == nil {
			in.Extras = map[string]any{}
		}
		in.Extras[k] = v
	}
	hasIntentData := false
	for i < len(args) {
		opt := args[i]
		if !strings.HasPrefix(opt, "-") || opt == "-" {
			break
		}
		if opt == "--" {
			i++
			break
		}
		i++
		if f, ok := intentFlagOptions[opt]; ok {
			in.Flags |= f
			continue
		}
		switch opt {
		case "-a":
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			in.Action = v
			hasIntentData = true
		case "-d":
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			in.Data = v
			hasIntentData = true
		case "-t":
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			in.Type = v
			hasIntentData = true
		case "-i":
			if _, err := next(opt); err != nil {
				return in, nil, err
			}
			hasIntentData = true
		case "-c":
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			in.Categories = append(in.Categories, v)
			hasIntentData = true
		case "-e", "--es":
			k, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			putExtra(k, v)
		case "--esn":
			k, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			putExtra(k, nil)
		case "--ei", "--el", "--ef", "--ez", "--eu", "--ecn", "--esa", "--esal", "--eia", "--eial", "--ela", "--elal", "--efa", "--efal":
			k, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			val, err := extraValue(opt, v)
			if err != nil {
				return in, nil, err
			}
			putExtra(k, val)
		case "-n":
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			c, err := ParseComponent(v)
			if err != nil {
				return in, nil, argErr("Bad component name: %s", v)
			}
			in.Component = c
		case "-p":
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			in.Package = v
		case "-f":
			v, err := next(opt)
			if err != nil {
				return in, nil, err
			}
			f, err := javaDecode(v, 32)
			if err != nil {
				return in, nil, err
			}
			in.Flags |= int(int32(f))
		case "--selector":
			hasIntentData = false
		default:
			if handler != nil {
				ok, err := handler(opt, func() (string, error) { return next(opt) })
				if err != nil {
					return in, nil, err
				}
				if ok {
					continue
				}
			}
			return in, nil, argErr("Unknown option: %s", opt)
		}
	}
	rest := args[i:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		arg := rest[0]
		switch {
		case strings.Contains(arg, ":"):
			if in.Data == "" {
				in.Data = arg
				if in.Action == "" {
					in.Action = ActionView
				}
				rest = rest[1:]
			}
		case strings.Contains(arg, "/"):
			if in.Component.IsZero() {
				c, err := ParseComponent(arg)
				if err != nil {
					return in, nil, argErr("Bad component name: %s", arg)
				}
				in.Component = c
				if !hasIntentData {
					in.Action = ActionMain
					in.Categories = append(in.Categories, CategoryLauncher)
				}
				rest = rest[1:]
			}
		default:
			if in.Package == "" && in.Component.IsZero() && looksLikePackage(arg) {
				in.Package = arg
				if !hasIntentData {
					in.Action = ActionMain
					in.Categories = append(in.Categories, CategoryLauncher)
				}
				rest = rest[1:]
			}
		}
	}
	return in, rest, nil
}

func looksLikePackage(s string) bool {
	if !strings.Contains(s, ".") {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
			if !ok {
				return false
			}
		}
	}
	return true
}

func extraValue(opt, v string) (any, error) {
	switch opt {
	case "--ei":
		return parseJavaInt(v)
	case "--el":
		return parseJavaLong(v)
	case "--ef":
		return parseJavaFloat(v)
	case "--eu":
		return v, nil
	case "--ecn":
		c, err := ParseComponent(v)
		if err != nil {
			return nil, argErr("Bad component name: %s", v)
		}
		return c.Flatten(), nil
	case "--ez":
		lv := strings.ToLower(v)
		switch lv {
		case "true", "t":
			return true, nil
		case "false", "f":
			return false, nil
		}
		n, err := javaDecode(lv, 32)
		if err != nil {
			return nil, argErr("Invalid boolean value: %s", lv)
		}
		return n != 0, nil
	case "--esa", "--esal":
		return splitArrayArg(v), nil
	case "--eia", "--eial":
		return parseList(v, parseJavaInt)
	case "--ela", "--elal":
		return parseList(v, parseJavaLong)
	case "--efa", "--efal":
		return parseList(v, parseJavaFloat)
	}
	return v, nil
}

// parseList parses the comma-separated values of an array extra.
func parseList[T any](v string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, s := range strings.Split(v, ",") {
		n, err := parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
