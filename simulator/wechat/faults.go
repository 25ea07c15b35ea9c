package wechat

import (
	"fmt"
	"sort"
	"strings"
)

// Fault is a switchable bug of the simulated WeChat side, so that the
// suites' bad-input specs can be shown to fail when the checks they rely on
// are missing.
type Fault string

// The faults.
const (
	// FaultNoValidation: callWMPF and pushappmsg accept bad parameters (and
	// callWMPF a modelId that is not the device's); the caller gets a
	// success and nothing is pushed.
	FaultNoValidation Fault = "no-validation"
	// FaultAcceptAnyToken: push tokens are not checked (no 14, no 48012).
	FaultAcceptAnyToken Fault = "accept-any-token"
	// FaultNoSizeLimit: messages over 5 KB are accepted (no 45002).
	FaultNoSizeLimit Fault = "no-size-limit"
	// FaultOfflineAccepted: calls to offline devices succeed (no code 10).
	FaultOfflineAccepted Fault = "offline-accepted"
	// FaultLicenceIgnored: licences are not checked (no 23, no 24).
	FaultLicenceIgnored Fault = "licence-ignored"
)

// Faults describes every fault.
var Faults = map[Fault]string{
	FaultNoValidation:    "callWMPF and pushappmsg accept bad parameters and report success",
	FaultAcceptAnyToken:  "push tokens are not checked",
	FaultNoSizeLimit:     "messages over 5 KB are accepted",
	FaultOfflineAccepted: "calls to offline devices succeed",
	FaultLicenceIgnored:  "licences are not checked",
}

// FaultNames lists the fault names, sorted.
func FaultNames() []string {
	out := make([]string, 0, len(Faults))
	for f := range Faults {
		out = append(out, string(f))
	}
	sort.Strings(out)
	return out
}

// ParseFaults checks fault names.
func ParseFaults(names []string) (map[Fault]bool, error) {
	out := map[Fault]bool{}
	for _, n := range names {
		f := Fault(strings.TrimSpace(n))
		if _, ok := Faults[f]; !ok {
			return nil, fmt.Errorf("fault %q: allowed values are %s", n, strings.Join(FaultNames(), ", "))
		}
		out[f] = true
	}
	return out, nil
}

func (s *Server) has(f Fault) bool { return s.faults[f] }

// fakeRoomLocked answers a call that should have failed as if it had
// succeeded, with a room nobody will ever ring: what a WeChat side without
// the check would seem to do.
func (s *Server) fakeSuccess(reason string) (string, string) {
	s.logf("wechat: fault: accepted a call that should fail: %s", reason)
	return newID("r", 12), newGroupID()
}
