package adb_test

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/wmpf-hil/wmpf-hil/harness/adb"
	"github.com/wmpf-hil/wmpf-hil/internal/fakedevice"
)

func TestExecOutAndStdin(t *testing.T) {
	_, _, d := fakeSetup(t, fakedevice.Config{})
	ctx := bounded(t)
	out, err := d.ExecOut(ctx, "echo hello exec")
	if err != nil || string(out) != "hello exec\n" {
		t.Fatalf("ExecOut(echo) = %q, %v", out, err)
	}
	// Binary data both ways, larger than any buffer on the way, read as
	// it is written.
	data := randomBytes(t, 3<<20+17)
	var got bytes.Buffer
	if err := d.Exec(ctx, "head -c "+itoa(len(data)), bytes.NewReader(data), &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("exec echoed %d bytes of the %d sent", got.Len(), len(data))
	}
	// The device's own words come back for a command it does not have.
	out, err = d.ExecOut(ctx, "frobnicate --now")
	if err != nil || !strings.Contains(string(out), "frobnicate: not found") {
		t.Errorf("ExecOut of a missing command = %q, %v", out, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("source broke") }

func TestExecBadInput(t *testing.T) {
	_, _, d := fakeSetup(t, fakedevice.Config{})
	ctx := bounded(t)
	if err := d.Exec(ctx, "  ", nil, io.Discard); err == nil || !strings.Contains(err.Error(), "command is empty") {
		t.Errorf("Exec of an empty command: %v", err)
	}
	err := d.Exec(ctx, "head -c 10", failingReader{}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "reading stdin") || !strings.Contains(err.Error(), "source broke") {
		t.Errorf("Exec with a failing stdin: %v", err)
	}
	err = d.Exec(ctx, "echo hi", nil, failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "writing its output") {
		t.Errorf("Exec into a failing writer: %v", err)
	}
	// The handle still works.
	if out, err := d.ExecOut(ctx, "echo still"); err != nil || string(out) != "still\n" {
		t.Errorf("after the failures: %q, %v", out, err)
	}
}

func TestScreencap(t *testing.T) {
	_, _, d := fakeSetup(t, fakedevice.Config{})
	img, err := d.Screencap(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != 4 || cfg.Height != 2 {
		t.Fatalf("screencap decodes as %+v, %v; want 4×2", cfg, err)
	}
}

func TestScreencapNotFound(t *testing.T) {
	_, _, d := fakeSetup(t, fakedevice.Config{NoScreencap: true})
	_, err := d.Screencap(bounded(t))
	if err == nil || !strings.Contains(err.Error(), `/system/bin/sh: screencap: not found`) || !strings.Contains(err.Error(), "not a PNG") {
		t.Fatalf("Screencap without screencap: %v; want the device's words quoted", err)
	}
	t.Logf("screencap missing: %v", err)
}

func TestScreencapCutShort(t *testing.T) {
	whole := samplePNG(t)
	_, _, d := fakeSetup(t, fakedevice.Config{Screencap: whole[:len(whole)-5]})
	_, err := d.Screencap(bounded(t))
	if err == nil || !strings.Contains(err.Error(), "no IEND") {
		t.Fatalf("a cut PNG: %v", err)
	}
}

func samplePNG(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, newImage(3, 5)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheckPNG(t *testing.T) {
	good := samplePNG(t)
	if err := adb.CheckPNG(good); err != nil {
		t.Fatalf("a PNG from image/png: %v", err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":        {nil, "not a PNG (0 bytes)"},
		"shell error":  {[]byte("/system/bin/sh: screencap: not found\n"), `"/system/bin/sh: screencap: not found\n"`},
		"legacy shell": {bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")), "not a PNG"},
		"no IHDR":      {good[:20], "no whole IHDR"},
		"IHDR CRC":     {mutate(func(b []byte) []byte { b[20] ^= 1; return b }), "IHDR CRC"},
		"zero width":   {mutate(func(b []byte) []byte { b[16], b[17], b[18], b[19] = 0, 0, 0, 0; return fixCRC(b) }), "0×5 pixels"},
		"bad depth":    {mutate(func(b []byte) []byte { b[24] = 3; return fixCRC(b) }), "bit depth 3"},
		"cut":          {good[:len(good)-1], "no IEND"},
		"long error":   {bytes.Repeat([]byte("x"), 500), `…`},
	} {
		err := adb.CheckPNG(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error with %q", name, err, tc.want)
		}
	}
}
