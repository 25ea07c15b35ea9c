package report

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// EvidenceRoot is the folder of a run directory that holds the evidence.
const EvidenceRoot = "evidence"

// slugMax bounds the readable part of an evidence folder's name; the hash
// that makes it unique comes after it.
const slugMax = 60

// safeNameMax bounds SafeName.
const safeNameMax = 80

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// hash8 is the first 8 hex digits of the SHA-256 of s.
func hash8(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// slug is s made a readable file name: runs of other characters than
// letters, digits, '.', '_' and '-' become '_', cut to max bytes, without
// '.', '_' or '-' at either end (so never hidden, never "..").
func slug(s string, max int) string {
	s = strings.Trim(unsafeName.ReplaceAllString(s, "_"), "_-.")
	if len(s) > max {
		s = s[:max]
	}
	return strings.TrimRight(s, "_-.")
}

// fileName is an evidence file's name made safe: its slug, or a hash of it
// when nothing readable is left.
func fileName(name string) string {
	if s := slug(name, safeNameMax); s != "" {
		return s
	}
	return "file-" + hash8(name)
}

// SafeName turns a spec or device name into a file name of at most 80
// bytes. A name that had to be cut ends in a hash of the whole name, so
// two long names that share their start stay apart.
func SafeName(s string) string {
	safe := unsafeName.ReplaceAllString(s, "_")
	if len(safe) <= safeNameMax && safe != "" && safe != "." && safe != ".." {
		return safe
	}
	return slug(safe, safeNameMax-9) + "-" + hash8(s)
}

// deviceDir is a device's folder name: the name itself when it is a safe
// file name of up to slugMax bytes, else its slug and a hash of it.
func deviceDir(device string) string {
	if device == "" {
		return "_farm-" + hash8("")
	}
	if s := slug(device, slugMax); s == device {
		return s
	}
	s := slug(device, slugMax)
	if s == "" {
		s = "device"
	}
	return s + "-" + hash8(device)
}

// evidenceName is the folder name of a cell attempt's evidence, before any
// uniqueness suffix: the spec's slug (cut first), the hash of its whole
// text, and -a<attempt> from the second attempt on.
func evidenceName(spec string, attempt int) string {
	s := slug(spec, slugMax)
	if s == "" {
		s = "spec"
	}
	name := s + "-" + hash8(spec)
	if attempt > 1 {
		name += "-a" + strconv.Itoa(attempt)
	}
	return name
}

// EvidenceDir is where the evidence of a cell attempt goes, relative to
// the run directory (with '/'): evidence/<device>/<slug>-<hash8>[-a<n>].
// The slug is the spec's text made readable and cut to 60 bytes before the
// hash of its whole text is appended, so specs that share a long start
// stay apart; -a<n> marks attempt n ≥ 2. When that folder already exists
// in runDir, the first free one with a suffix -2, -3, … is given: evidence
// is never written over.
func EvidenceDir(runDir, device, spec string, attempt int) string {
	base := path.Join(EvidenceRoot, deviceDir(device), evidenceName(spec, attempt))
	rel := base
	for i := 2; i <= maxEvidenceDirs; i++ {
		if _, err := os.Lstat(filepath.Join(runDir, filepath.FromSlash(rel))); errors.Is(err, os.ErrNotExist) {
			return rel
		}
		rel = base + "-" + strconv.Itoa(i)
	}
	return rel
}

// maxEvidenceDirs bounds the folders of one cell attempt.
const maxEvidenceDirs = 10000

// claimEvidenceDir creates the first free evidence folder of a cell
// attempt; creating it is what claims it, so two writers never share one.
func claimEvidenceDir(runDir, device, spec string, attempt int) (string, error) {
	parent := filepath.Join(runDir, EvidenceRoot, deviceDir(device))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	base := path.Join(EvidenceRoot, deviceDir(device), evidenceName(spec, attempt))
	for i := 1; i <= maxEvidenceDirs; i++ {
		rel := base
		if i > 1 {
			rel += "-" + strconv.Itoa(i)
		}
		err := os.Mkdir(filepath.Join(runDir, filepath.FromSlash(rel)), 0o755)
		if err == nil {
			return rel, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: %d folders of the same cell attempt already", base, maxEvidenceDirs)
}

// Evidence writes the evidence files of a cell attempt into a new folder
// EvidenceDir names, and returns their paths relative to runDir (with '/'),
// in name order. File names are made safe (letters, digits, '.', '_', '-';
// never hidden); contents may be binary (a screenshot).
func Evidence(runDir, device, spec string, attempt int, files map[string]string) ([]string, error) {
	if spec == "" {
		return nil, errors.New("report: evidence: spec is empty: evidence belongs to a cell (spec, device)")
	}
	if attempt < 1 {
		return nil, fmt.Errorf("report: evidence of %q on %q: attempt %d: attempts count from 1", spec, device, attempt)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("report: evidence of %q on %q: no files", spec, device)
	}
	names := make([]string, 0, len(files))
	byName := map[string]string{}
	for name := range files {
		safe := fileName(name)
		if other, dup := byName[safe]; dup {
			return nil, fmt.Errorf("report: evidence of %q on %q: files %q and %q both become %q", spec, device, other, name, safe)
		}
		byName[safe] = name
		names = append(names, safe)
	}
	sort.Strings(names)
	dir, err := claimEvidenceDir(runDir, device, spec, attempt)
	if err != nil {
		return nil, fmt.Errorf("report: evidence of %q on %q: %w", spec, device, err)
	}
	out := make([]string, 0, len(names))
	for _, name := range names {
		rel := path.Join(dir, name)
		f, err := os.OpenFile(filepath.Join(runDir, filepath.FromSlash(rel)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.WriteString(files[byName[name]])
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return out, fmt.Errorf("report: evidence: %w", err)
		}
		out = append(out, rel)
	}
	return out, nil
}
