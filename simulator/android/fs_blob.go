package android

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// SpillBytes is the size above which a file's content is kept in a temporary
// file on the host instead of in memory, so that pushing a large file costs
// its size on disk, not twice its size in RAM. The host files are removed
// when the System closes.
const SpillBytes = 1 << 20

// blob is the content of a regular file: in memory, or once larger than
// SpillBytes, in a host file.
type blob struct {
	mem  []byte
	file string // host path when spilled
	size int64
}

// spill is where a file system keeps the host files of large contents.
type spill struct {
	mu     sync.Mutex
	dir    string
	closed bool
}

func (sp *spill) create() (*os.File, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil, fmt.Errorf("spill: %w", errNoSpc)
	}
	if sp.dir == "" {
		d, err := os.MkdirTemp("", "wmpf-hil-fs-")
		if err != nil {
			return nil, fmt.Errorf("spill: %w", err)
		}
		sp.dir = d
	}
	return os.CreateTemp(sp.dir, "blob-")
}

// close removes every host file.
func (sp *spill) close() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.closed = true
	if sp.dir != "" {
		os.RemoveAll(sp.dir)
		sp.dir = ""
	}
}

// Dir is the host directory of the large files, "" when there is none.
func (sp *spill) Dir() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.dir
}

func (b *blob) len() int64 {
	if b.file != "" {
		return b.size
	}
	return int64(len(b.mem))
}

// bytes returns the whole content (a copy).
func (b *blob) bytes() ([]byte, error) {
	if b.file != "" {
		return os.ReadFile(b.file)
	}
	return append([]byte(nil), b.mem...), nil
}

// reader reads the content; a spilled blob is read from its host file.
func (b *blob) reader() (io.ReadCloser, error) {
	if b.file != "" {
		return os.Open(b.file)
	}
	return io.NopCloser(bytes.NewReader(append([]byte(nil), b.mem...))), nil
}

// release forgets the content and removes its host file.
func (b *blob) release() {
	if b.file != "" {
		os.Remove(b.file)
	}
	*b = blob{}
}

// set replaces the content.
func (b *blob) set(sp *spill, data []byte) error {
	b.release()
	if len(data) <= SpillBytes {
		b.mem = append([]byte(nil), data...)
		return nil
	}
	return b.append(sp, data)
}

// append adds p at the end, moving the content to a host file once it
// outgrows SpillBytes.
func (b *blob) append(sp *spill, p []byte) error {
	if b.file == "" && int64(len(b.mem)+len(p)) <= SpillBytes {
		b.mem = append(b.mem, p...)
		return nil
	}
	if b.file == "" {
		f, err := sp.create()
		if err != nil {
			return err
		}
		if _, err := f.Write(b.mem); err != nil {
			f.Close()
			os.Remove(f.Name())
			return fmt.Errorf("spill: %w", err)
		}
		f.Close()
		b.file, b.size, b.mem = f.Name(), int64(len(b.mem)), nil
	}
	f, err := os.OpenFile(b.file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	n, err := f.Write(p)
	b.size += int64(n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

// blobWriter builds a new content by streaming writes, spilling to a host
// file past SpillBytes; it keeps its host file open while it writes.
type blobWriter struct {
	sp *spill
	b  blob
	f  *os.File
}

func (w *blobWriter) Write(p []byte) (int, error) {
	if w.f == nil && int64(len(w.b.mem)+len(p)) <= SpillBytes {
		w.b.mem = append(w.b.mem, p...)
		return len(p), nil
	}
	if w.f == nil {
		f, err := w.sp.create()
		if err != nil {
			return 0, err
		}
		if _, err := f.Write(w.b.mem); err != nil {
			f.Close()
			os.Remove(f.Name())
			return 0, fmt.Errorf("spill: %w", err)
		}
		w.f, w.b.file, w.b.size, w.b.mem = f, f.Name(), int64(len(w.b.mem)), nil
	}
	n, err := w.f.Write(p)
	w.b.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("spill: %w", err)
	}
	return n, nil
}

// finish closes the host file and returns the content.
func (w *blobWriter) finish() (blob, error) {
	if w.f != nil {
		err := w.f.Close()
		w.f = nil
		if err != nil {
			w.b.release()
			return blob{}, fmt.Errorf("spill: %w", err)
		}
	}
	return w.b, nil
}

// abort drops the content.
func (w *blobWriter) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.b.release()
}
