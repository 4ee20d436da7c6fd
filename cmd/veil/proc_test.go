//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/veil-fl/veil/node"
	"github.com/veil-fl/veil/node/audit"
)

// This file is the soak's and the fault tests' harness: the veil command
// built once and run as the center's process, its log and memory read
// while it serves, its metrics scraped, and a bank's retry of busy
// refusals.

// veilBuild is the command built once for the package's tests that run it
// as a process; TestMain removes it.
var veilBuild struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if veilBuild.dir != "" {
		os.RemoveAll(veilBuild.dir)
	}
	os.Exit(code)
}

// builtVeil builds the command (once) and returns its path.
func builtVeil(t *testing.T) string {
	t.Helper()
	veilBuild.once.Do(func() {
		if veilBuild.dir, veilBuild.err = os.MkdirTemp("", "veil-bin-"); veilBuild.err != nil {
			return
		}
		veilBuild.path = filepath.Join(veilBuild.dir, "veil")
		if out, err := exec.Command("go", "build", "-o", veilBuild.path, ".").CombinedOutput(); err != nil {
			veilBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if veilBuild.err != nil {
		t.Fatal(veilBuild.err)
	}
	return veilBuild.path
}

// needProcs skips a test that runs the command as processes and reads
// /proc, in -short and off Linux.
func needProcs(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s: skipped in -short", what)
	}
	if runtime.GOOS != "linux" {
		t.Skipf("%s: reads /proc; Linux only", what)
	}
}

// centerProc is `veil center` running as a process of its own.
type centerProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	exited chan struct{} // closed once it exited; err then holds Wait's
	err    error
}

// startCenterProc runs `veil center -config cfg` and waits for its
// "listening" line.
func startCenterProc(t *testing.T, cfg string) *centerProc {
	t.Helper()
	c := &centerProc{cmd: exec.Command(builtVeil(t), "center", "-config", cfg), stderr: new(syncBuffer), exited: make(chan struct{})}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			c.cmd.Process.Kill()
			<-c.exited
		}
	})
	first := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		if lines.Scan() {
			first <- lines.Text()
		}
		close(first)
		io.Copy(io.Discard, stdout)
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	select {
	case line := <-first:
		addr, ok := strings.CutPrefix(line, "listening ")
		if !ok {
			<-c.exited
			t.Fatalf("veil center: first line %q (%v)\n%s", line, c.err, c.stderr)
		}
		c.addr = addr
	case <-time.After(2 * time.Minute):
		t.Fatalf("veil center not listening after 2 minutes:\n%s", c.stderr)
	}
	return c
}

func (c *centerProc) pid() int { return c.cmd.Process.Pid }

// signal sends sig to the center.
func (c *centerProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the center to exit, at most timeout, and returns how it
// exited.
func (c *centerProc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-c.exited:
		return c.err
	case <-time.After(timeout):
		t.Fatalf("the center still runs %s on:\n%s", timeout, c.stderr)
		return nil
	}
}

// waitLog waits until the center's log has a line matching re after byte
// offset from, and returns the offset after that line.
func (c *centerProc) waitLog(t *testing.T, from int, re *regexp.Regexp, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := c.stderr.String()
		if from > len(s) {
			from = len(s)
		}
		if loc := re.FindStringIndex(s[from:]); loc != nil {
			end := from + loc[1]
			if nl := strings.IndexByte(s[end:], '\n'); nl >= 0 {
				end += nl + 1
			}
			return end
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %s in the center's log within %s:\n%s", re, timeout, s[from:])
		}
		select {
		case <-c.exited:
			t.Fatalf("the center exited (%v) before a line matching %s:\n%s", c.err, re, s[from:])
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// logLen is the center's log's length so far (an offset for waitLog).
func (c *centerProc) logLen() int { return len(c.stderr.String()) }

// procStatus reads a kB figure (VmHWM, VmRSS) of /proc/PID/status, in
// bytes.
func procStatus(pid int, key string) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, key)
}

// freePort is a loopback address free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// metricsSample is a scrape of the Prometheus text format: the sum of a
// metric's samples whose labels include every given label="value".
type metricsSample map[string][]metricLine

type metricLine struct {
	labels string
	value  float64
}

func scrape(addr string) (metricsSample, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	out := metricsSample{}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		l := lines.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(l, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[sp+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(l[:sp], "{")
		out[name] = append(out[name], metricLine{labels: labels, value: v})
	}
	return out, lines.Err()
}

func (m metricsSample) sum(name string, labels ...string) float64 {
	s := 0.0
	for _, l := range m[name] {
		ok := true
		for _, want := range labels {
			ok = ok && strings.Contains(l.labels, want)
		}
		if ok {
			s += l.value
		}
	}
	return s
}

// busyRetry runs a session, retrying it while the center refuses it as
// busy (node.ErrBusy), with exponential backoff and full jitter from
// 50 ms to 2 s, until it succeeds, fails otherwise, or the deadline
// passes. It returns the refusals it met, by the limit each named.
func busyRetry(deadline time.Time, rng *rand.Rand, session func() error) (busy map[string]int, err error) {
	busy = map[string]int{}
	wait := 50 * time.Millisecond
	for {
		err = session()
		if !errors.Is(err, node.ErrBusy) {
			return busy, err
		}
		rule := "?"
		if m := busyRuleRE.FindStringSubmatch(err.Error()); m != nil {
			rule = m[1]
		}
		busy[rule]++
		if time.Now().After(deadline) {
			return busy, fmt.Errorf("still busy at the deadline after refusals %v: %w", busy, err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(wait))) + time.Millisecond)
		wait = min(2*wait, 2*time.Second)
	}
}

// busyRuleRE finds the limit a busy refusal names.
var busyRuleRE = regexp.MustCompile(`\(((?:limits|banks)\.[a-z0-9_.-]+)\)`)

// readAudit verifies the audit log at path and returns its records.
func readAudit(t *testing.T, path string) []audit.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, _, err := audit.Read(f)
	if err != nil {
		t.Fatalf("the audit log does not verify: %v", err)
	}
	return recs
}

// tmpDebris lists the registry writes' temporary folders under dir.
func tmpDebris(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp") {
			out = append(out, path)
		}
		return nil
	})
	return out
}
