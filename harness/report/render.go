package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Files of a run directory written by Render, and the pointer Latest
// writes when symbolic links are not available.
const (
	HTMLFile   = "report.html"
	LatestLink = "latest"
	LatestText = "latest.txt"
)

// Render reads dir/results.jsonl and writes dir/report.html,
// dir/junit.xml and dir/ctrf.json. A run without an end record (still
// going, or killed) is summarised from what it recorded and its page says
// so. Each file is written under a temporary name and renamed, so a reader
// sees the old file or the new one, never half of one.
func Render(dir string) error {
	r, err := ReadDir(dir)
	if err != nil {
		return err
	}
	return renderResults(dir, r, time.Now())
}

// renderResults writes the three reports of r into dir.
func renderResults(dir string, r *Results, now time.Time) error {
	var page, junit, ctrf bytes.Buffer
	if err := writeHTML(&page, r, r.Last); err != nil {
		return err
	}
	if err := WriteJUnit(&junit, r); err != nil {
		return err
	}
	if err := WriteCTRF(&ctrf, r, now); err != nil {
		return err
	}
	for name, b := range map[string][]byte{HTMLFile: page.Bytes(), JUnitFile: junit.Bytes(), CTRFFile: ctrf.Bytes()} {
		if err := writeFileAtomic(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory, synced, then renamed over path.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

// Latest points reportsDir/latest at runDir (a path, like Render's, not a
// name inside reportsDir): a relative symbolic link,
// created under a temporary name and renamed over the old one, so the link
// always leads to a run. Where symbolic links cannot be made (or "latest"
// is not a link), reportsDir/latest.txt names the run directory instead.
func Latest(reportsDir, runDir string) error {
	fi, err := os.Stat(runDir)
	if err != nil {
		return fmt.Errorf("report: latest: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("report: latest: %s is not a directory", runDir)
	}
	absReports, err := filepath.Abs(reportsDir)
	if err != nil {
		return fmt.Errorf("report: latest: %w", err)
	}
	absRun, err := filepath.Abs(runDir)
	if err != nil {
		return fmt.Errorf("report: latest: %w", err)
	}
	target, err := filepath.Rel(absReports, absRun)
	if err != nil {
		target = absRun // another volume: no relative path
	}
	if target == "." {
		return fmt.Errorf("report: latest: run directory %s is the reports directory", runDir)
	}
	if err := os.MkdirAll(reportsDir, 0o755); err != nil {
		return fmt.Errorf("report: latest: %w", err)
	}
	link := filepath.Join(reportsDir, LatestLink)
	tmp := filepath.Join(reportsDir, "."+LatestLink+".tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	linkErr := os.Symlink(target, tmp)
	if linkErr == nil {
		if linkErr = os.Rename(tmp, link); linkErr == nil {
			// A pointer file from a time without links would now mislead.
			if err := os.Remove(filepath.Join(reportsDir, LatestText)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("report: latest: %w", err)
			}
			return nil
		}
		os.Remove(tmp)
	}
	if err := writeFileAtomic(filepath.Join(reportsDir, LatestText), []byte(filepath.ToSlash(target)+"\n")); err != nil {
		return fmt.Errorf("report: latest: link: %v; %w", linkErr, err)
	}
	return nil
}
