package adb_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
)

// What `adb devices -l` printed on users' machines (testdata/real;
// SOURCES.md says where each comes from, serials partly masked).
// ParseDevicesLong reads the server's answer to host:devices-l, and the
// adb command's output, whose first line "List of devices attached" it
// skips: the files are read as printed.
func TestRealDevicesLong(t *testing.T) {
	cases := []struct {
		file string
		want adb.DeviceInfo
	}{
		{"devices-l/unknown-goadb-2-huawei.txt", adb.DeviceInfo{Serial: "UYT5T1841400XXXX", State: adb.StateDevice, USB: "1114112X",
			Product: "ALP-AL00", Model: "ALP_AL00", Device: "HWALP", TransportID: "23"}},
		{"devices-l/unknown-udev-rules-256-kindle.txt", adb.DeviceInfo{Serial: "G8S1KT06147XXXXX", State: adb.StateDevice, USB: "3-4",
			Product: "trona", Model: "KFTRWI", Device: "trona", TransportID: "2"}},
		{"devices-l/unknown-adb-client-94-xiaomi.txt", adb.DeviceInfo{Serial: "n311rXXX", State: adb.StateDevice, USB: "0-1.5",
			Product: "alioth", Model: "M2012K11AC", Device: "alioth", TransportID: "58"}},
		// `adb devices` without -l: a tab, and the state's explanation.
		{"devices-l/unknown-rayhunter-162-nopermissions.txt", adb.DeviceInfo{Serial: "eb9fXXXX", State: adb.StateNoPerm}},
		{"devices-l/unknown-udev-rules-298-nopermissions.txt", adb.DeviceInfo{Serial: "1fXXXX9", State: adb.StateNoPerm}},
		// A state the harness has no name for is kept as printed.
		{"devices-l/unknown-udev-rules-298-sideload.txt", adb.DeviceInfo{Serial: "1fXXXX9", State: adb.State("sideload")}},
	}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join("testdata", "real", c.file))
		if err != nil {
			t.Fatal(err)
		}
		got := adb.ParseDevicesLong(string(b))
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.file, got, c.want)
		}
	}
}
