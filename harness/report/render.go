package report

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	JUnitFile  = "junit.xml"
	LatestLink = "latest"
	LatestText = "latest.txt"
)

// Render reads dir/results.jsonl and writes dir/report.html and
// dir/junit.xml. A run without an end record (still going, or killed) is
// summarised from what it recorded and its page says so. Each file is
// written under a temporary name and renamed, so a reader sees the old file
// or the new one, never half of one.
func Render(dir string) error {
	// One read serves both the records and their times, so a run still
	// appending cannot make the two disagree.
	data, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	r, err := Read(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("report: read %s: %w", filepath.Join(dir, ResultsFile), err)
	}
	var last time.Time
	if r.End == nil {
		last = lastRecordTime(data)
	}
	var page bytes.Buffer
	if err := writeHTML(&page, r, last); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, HTMLFile), page.Bytes()); err != nil {
		return err
	}
	return writeJUnitAtomic(filepath.Join(dir, JUnitFile), r)
}

// lastRecordTime is the latest record time in a results file; lines that
// do not decode are skipped.
func lastRecordTime(data []byte) time.Time {
	var last time.Time
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var rec struct {
			At time.Time `json:"at"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.At.After(last) {
			last = rec.At
		}
	}
	return last
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

// writeJUnitAtomic has WriteJUnit write a temporary file, then renames it
// over path.
func writeJUnitAtomic(path string, r *Results) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = WriteJUnit(tmp, r); err != nil {
		return err
	}
	if err = syncFile(tmp); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Chmod(0o644); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
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
