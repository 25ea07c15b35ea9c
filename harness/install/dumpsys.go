package install

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Package is what `dumpsys package NAME` says of an installed package.
type Package struct {
	Name        string
	VersionCode int64
	VersionName string // "" when the device prints versionName=null
	MinSDK      int    // 0 when not printed (before Android 9)
	TargetSDK   int
}

// ErrPackageNotFound: dumpsys lists no such package among the installed
// ones.
var ErrPackageNotFound = errors.New("package not installed")

// ParseDumpsysPackage reads the entry of package name in the output of
// `dumpsys package NAME`. It reads only the "Packages:" section: an
// updated system app also appears under "Hidden system packages:" with the
// version of the system image, which is not the one that runs.
//
// The entry looks like this on every Android from 4 to 16 (the line with
// versionCode gained minSdk in Android 9):
//
//	Packages:
//	  Package [com.example.app] (4a1c2e3):
//	    userId=10123
//	    versionCode=42 minSdk=21 targetSdk=29
//	    versionName=1.2.3
func ParseDumpsysPackage(text, name string) (Package, error) {
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	inPackages, inEntry, found := false, false, false
	var p Package
	var haveCode, haveName bool
	for _, line := range lines {
		if line != "" && line[0] != ' ' {
			// A section heading at column 0 ends the previous section.
			inPackages, inEntry = strings.TrimSpace(line) == "Packages:", false
			continue
		}
		if !inPackages {
			continue
		}
		if strings.HasPrefix(line, "  Package [") {
			if found {
				break // the next package
			}
			inEntry = strings.HasPrefix(line, "  Package ["+name+"]")
			found = inEntry
			continue
		}
		if !inEntry || !strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "     ") {
			continue // not a field of the entry itself
		}
		field := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(field, "versionCode="):
			for _, kv := range strings.Fields(field) {
				k, v, _ := strings.Cut(kv, "=")
				var err error
				switch k {
				case "versionCode":
					p.VersionCode, err = strconv.ParseInt(v, 10, 64)
					haveCode = err == nil
				case "minSdk":
					p.MinSDK, err = strconv.Atoi(v)
				case "targetSdk":
					p.TargetSDK, err = strconv.Atoi(v)
				}
				if err != nil {
					return Package{}, fmt.Errorf("dumpsys package %s: %s %q: want an integer", name, k, v)
				}
			}
		case strings.HasPrefix(field, "versionName="):
			p.VersionName = strings.TrimPrefix(field, "versionName=")
			if p.VersionName == "null" {
				p.VersionName = ""
			}
			haveName = true
		}
	}
	if !found {
		return Package{}, fmt.Errorf("dumpsys package %s: no entry for it under Packages: %w", name, ErrPackageNotFound)
	}
	if !haveCode || !haveName {
		return Package{}, fmt.Errorf("dumpsys package %s: the entry has no versionCode= or versionName= line", name)
	}
	p.Name = name
	return p, nil
}
