package adbwire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	msgs := []Message{
		{Command: CmdCNXN, Arg0: VersionSkipChecksum, Arg1: MaxPayload, Data: []byte("host::features=shell_v2\x00")},
		{Command: CmdOKAY, Arg0: 1, Arg1: 7},
		{Command: CmdWRTE, Arg0: 3, Arg1: 9, Data: bytes.Repeat([]byte{0xff}, 4096)},
	}
	var buf []byte
	for _, m := range msgs {
		buf = AppendMessage(buf, m)
	}
	r := bytes.NewReader(buf)
	for i, want := range msgs {
		got, err := ReadMessage(r, MaxPayload)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got.Command != want.Command || got.Arg0 != want.Arg0 || got.Arg1 != want.Arg1 || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("message %d: got %v want %v", i, got, want)
		}
	}
	if _, err := ReadMessage(r, MaxPayload); err != io.EOF {
		t.Fatalf("after last message: got %v, want EOF", err)
	}
}

func TestDecodeHeaderRejects(t *testing.T) {
	good := AppendMessage(nil, Message{Command: CmdOPEN, Arg0: 1, Data: []byte("shell:\x00")})
	badMagic := append([]byte(nil), good...)
	badMagic[20] ^= 1
	unknown := AppendMessage(nil, Message{Command: 0x41414141})
	tooBig := AppendMessage(nil, Message{Command: CmdWRTE, Data: make([]byte, 100)})
	cases := []struct {
		name string
		in   []byte
		max  uint32
		want error
	}{
		{"bad magic", badMagic, MaxPayload, ErrBadMagic},
		{"unknown command", unknown, MaxPayload, ErrUnknownCommand},
		{"too large", tooBig, 99, ErrTooLarge},
		{"short header", good[:10], MaxPayload, ErrTruncated},
		{"short payload", good[:HeaderSize+2], MaxPayload, ErrTruncated},
	}
	for _, c := range cases {
		_, err := ReadMessage(bytes.NewReader(c.in), c.max)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestCommandName(t *testing.T) {
	if got := CommandName(CmdWRTE); got != "WRTE" {
		t.Fatalf("CommandName(WRTE) = %q", got)
	}
	if got := CommandName(7); got != "0x00000007" {
		t.Fatalf("CommandName(7) = %q", got)
	}
}

func TestPacketDecoderSplitsAnywhere(t *testing.T) {
	var stream []byte
	stream = AppendPacket(stream, ShellStdout, []byte("hello\n"))
	stream = AppendPacket(stream, ShellStderr, []byte("oops\n"))
	stream = AppendPacket(stream, ShellStdout, nil)
	stream = AppendPacket(stream, ShellExit, []byte{5})
	for chunk := 1; chunk <= len(stream); chunk++ {
		d := NewPacketDecoder(0)
		var got []Packet
		for off := 0; off < len(stream); off += chunk {
			end := min(off+chunk, len(stream))
			d.Write(stream[off:end])
			for {
				p, ok, err := d.Next()
				if err != nil {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				if !ok {
					break
				}
				got = append(got, Packet{ID: p.ID, Data: append([]byte(nil), p.Data...)})
			}
		}
		if len(got) != 4 || string(got[0].Data) != "hello\n" || got[1].ID != ShellStderr || got[3].ID != ShellExit || got[3].Data[0] != 5 {
			t.Fatalf("chunk %d: got %+v", chunk, got)
		}
		if d.Buffered() != 0 {
			t.Fatalf("chunk %d: %d bytes left", chunk, d.Buffered())
		}
	}
}

func TestPacketDecoderRejects(t *testing.T) {
	d := NewPacketDecoder(16)
	d.Write(AppendPacket(nil, ShellStdout, make([]byte, 17)))
	if _, _, err := d.Next(); err == nil {
		t.Fatal("oversized packet accepted")
	}
	d = NewPacketDecoder(0)
	d.Write([]byte{9, 0, 0, 0, 0})
	if _, _, err := d.Next(); err == nil {
		t.Fatal("unknown packet id accepted")
	}
}

func FuzzReadMessage(f *testing.F) {
	f.Add(AppendMessage(nil, Message{Command: CmdCNXN, Arg0: VersionSkipChecksum, Arg1: MaxPayload, Data: []byte("host::\x00")}))
	f.Add(AppendMessage(nil, Message{Command: CmdWRTE, Arg0: 1, Arg1: 2, Data: []byte("x")}))
	f.Add([]byte("CNXN"))
	f.Add(bytes.Repeat([]byte{0xff}, 48))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			m, err := ReadMessage(r, 4096)
			if err != nil {
				return
			}
			if len(m.Data) > 4096 {
				t.Fatalf("payload of %d bytes passed a 4096 limit", len(m.Data))
			}
			// A decoded message re-encodes to the same header fields.
			again, err := ReadMessage(bytes.NewReader(AppendMessage(nil, m)), 4096)
			if err != nil || again.Command != m.Command || again.Arg0 != m.Arg0 || again.Arg1 != m.Arg1 || !bytes.Equal(again.Data, m.Data) {
				t.Fatalf("re-encode of %v: %v %v", m, again, err)
			}
		}
	})
}

func FuzzPacketDecoder(f *testing.F) {
	f.Add(AppendPacket(AppendPacket(nil, ShellStdout, []byte("hi\n")), ShellExit, []byte{0}), 3)
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff}, 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		d := NewPacketDecoder(1024)
		for off := 0; off < len(in); off += chunk {
			d.Write(in[off:min(off+chunk, len(in))])
			for {
				p, ok, err := d.Next()
				if err != nil {
					return
				}
				if !ok {
					break
				}
				if len(p.Data) > 1024 || p.ID > ShellWindowSizeChange {
					t.Fatalf("bad packet passed: id %d len %d", p.ID, len(p.Data))
				}
			}
		}
	})
}
