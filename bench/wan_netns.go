package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The link's addresses and devices, inside the two namespaces only: the
// bank's end is veilA in namespace a, the center's veilB in b.
const (
	veilA, veilB = "veil-a", "veil-b"
	addrA, addrB = "10.200.0.1", "10.200.0.2"
	wanPort      = "7070"
)

// netnsName is the runner's namespaces' names: veil-wan-PID-SEQ-a and -b.
var netnsName = regexp.MustCompile(`^veil-wan-([0-9]+)-[0-9]+-[ab]$`)

var netnsSeq atomic.Int64

// wanAvailable tells whether this machine can run the WAN figures: root,
// and iproute2's ip and tc, which it installs with apt-get when missing.
// Otherwise it returns a skipError saying why.
func wanAvailable(ctx context.Context, log io.Writer) error {
	if os.Geteuid() != 0 {
		return &skipError{errors.New("the WAN figures need root (network namespaces, veth, tc)")}
	}
	if haveIPRoute2() {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return &skipError{errors.New("the WAN figures need iproute2 (ip, tc), which is missing, and apt-get is not here to install it")}
	}
	fmt.Fprintln(log, "  iproute2 (ip, tc) is missing: installing it with apt-get")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "iproute2"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return &skipError{fmt.Errorf("the WAN figures need iproute2 (ip, tc); apt-get %s failed: %w: %s", args[0], err, lastLines(out, 3))}
		}
	}
	if !haveIPRoute2() {
		return &skipError{errors.New("the WAN figures need iproute2 (ip, tc): still missing after apt-get install iproute2")}
	}
	return nil
}

func haveIPRoute2() bool {
	_, errIP := exec.LookPath("ip")
	_, errTC := exec.LookPath("tc")
	return errIP == nil && errTC == nil
}

// netnsPair is two network namespaces joined by a veth pair.
type netnsPair struct {
	a, b string // namespace names: the bank's, the center's
}

// command runs a command of iproute2 and returns its standard output, or an
// error quoting the command and its standard error.
func command(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("wan: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// newNetnsPair creates two namespaces, named after pid and a sequence
// number, a veth pair with one end in each (addrA/30 and addrB/30), and
// brings the ends and both loopbacks up. On error it removes what it made.
// Namespaces an earlier runner left behind (its process is gone) are
// removed first.
func newNetnsPair(ctx context.Context, pid int) (p *netnsPair, err error) {
	removeStale(ctx)
	seq := netnsSeq.Add(1)
	p = &netnsPair{a: fmt.Sprintf("veil-wan-%d-%d-a", pid, seq), b: fmt.Sprintf("veil-wan-%d-%d-b", pid, seq)}
	if _, err := command(ctx, "ip", "netns", "add", p.a); err != nil {
		return nil, &skipError{fmt.Errorf("cannot create a network namespace here: %w", err)}
	}
	defer func() {
		if err != nil {
			_ = p.teardown()
			p = nil
		}
	}()
	steps := [][]string{
		{"netns", "add", p.b},
		// Made inside the namespaces: nothing appears in the host's.
		{"link", "add", veilA, "netns", p.a, "type", "veth", "peer", "name", veilB, "netns", p.b},
		{"-n", p.a, "addr", "add", addrA + "/30", "dev", veilA},
		{"-n", p.b, "addr", "add", addrB + "/30", "dev", veilB},
		{"-n", p.a, "link", "set", "lo", "up"},
		{"-n", p.b, "link", "set", "lo", "up"},
		{"-n", p.a, "link", "set", veilA, "up"},
		{"-n", p.b, "link", "set", veilB, "up"},
	}
	for _, s := range steps {
		if _, err := command(ctx, "ip", s...); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// setShaped puts tbf at c's rate, burst and latency on the egress of both
// ends, or with shaped false takes it off (the veth's default qdisc, none).
func (p *netnsPair) setShaped(ctx context.Context, c wanConfig, shaped bool) error {
	for _, e := range [][2]string{{p.a, veilA}, {p.b, veilB}} {
		if !shaped {
			kind, _, err := parseQdiscOf(ctx, e[0], e[1])
			if err != nil {
				return err
			}
			if kind != "tbf" {
				continue
			}
			if _, err := command(ctx, "tc", "-n", e[0], "qdisc", "del", "dev", e[1], "root"); err != nil {
				return err
			}
			continue
		}
		if _, err := command(ctx, "tc", "-n", e[0], "qdisc", "replace", "dev", e[1], "root", "tbf",
			"rate", c.Rate, "burst", c.Burst, "latency", c.Latency); err != nil {
			return err
		}
	}
	return nil
}

// txBytes returns the bytes each end has transmitted.
func (p *netnsPair) txBytes(ctx context.Context) (a, b uint64, err error) {
	read := func(ns, dev string) (uint64, error) {
		out, err := command(ctx, "ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev)
		if err != nil {
			return 0, err
		}
		return parseTxBytes(out)
	}
	if a, err = read(p.a, veilA); err != nil {
		return 0, 0, err
	}
	b, err = read(p.b, veilB)
	return a, b, err
}

// parseTxBytes reads the transmitted bytes of the one link in the output of
// ip -j -s link show dev DEV.
func parseTxBytes(out []byte) (uint64, error) {
	var links []struct {
		Name  string `json:"ifname"`
		Stats *struct {
			TX struct {
				Bytes *uint64 `json:"bytes"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return 0, fmt.Errorf("wan: ip -j -s link show: %w", err)
	}
	if len(links) != 1 || links[0].Stats == nil || links[0].Stats.TX.Bytes == nil {
		return 0, fmt.Errorf("wan: ip -j -s link show: want one link with stats64.tx.bytes, got %.200q", out)
	}
	return *links[0].Stats.TX.Bytes, nil
}

// qdiscBytes returns the bytes the root qdisc of the bank's end has sent,
// and its kind (tbf when shaped).
func (p *netnsPair) qdiscBytes(ctx context.Context) (kind string, sent uint64, err error) {
	return parseQdiscOf(ctx, p.a, veilA)
}

// parseQdiscOf returns the kind and sent bytes of dev's root qdisc in ns.
func parseQdiscOf(ctx context.Context, ns, dev string) (kind string, sent uint64, err error) {
	out, err := command(ctx, "tc", "-n", ns, "-j", "-s", "qdisc", "show", "dev", dev)
	if err != nil {
		return "", 0, err
	}
	return parseQdisc(out)
}

// parseQdisc reads the root qdisc's kind and sent bytes from the output of
// tc -j -s qdisc show dev DEV.
func parseQdisc(out []byte) (kind string, sent uint64, err error) {
	var qs []struct {
		Kind  string  `json:"kind"`
		Root  bool    `json:"root"`
		Bytes *uint64 `json:"bytes"`
	}
	if err := json.Unmarshal(out, &qs); err != nil {
		return "", 0, fmt.Errorf("wan: tc -j -s qdisc show: %w", err)
	}
	for _, q := range qs {
		if q.Root && q.Bytes != nil {
			return q.Kind, *q.Bytes, nil
		}
	}
	return "", 0, fmt.Errorf("wan: tc -j -s qdisc show: no root qdisc with its bytes in %.200q", out)
}

// teardown deletes both namespaces (the veth pair goes with them). It runs
// on its own deadline, so that a cancelled run still cleans up.
func (p *netnsPair) teardown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, ns := range []string{p.a, p.b} {
		if !netnsExists(ctx, ns) {
			continue
		}
		if _, err := command(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// netnsList returns the names of the named network namespaces.
func netnsList(ctx context.Context) []string {
	out, err := command(ctx, "ip", "netns", "list")
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		// "NAME" or "NAME (id: N)"
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

func netnsExists(ctx context.Context, name string) bool {
	for _, n := range netnsList(ctx) {
		if n == name {
			return true
		}
	}
	return false
}

// removeStale deletes the namespaces and temporary folders (the pilot
// PKI's) of runners that are gone (killed before their teardown ran);
// those of live runners stay.
func removeStale(ctx context.Context) {
	for _, n := range netnsList(ctx) {
		if m := netnsName.FindStringSubmatch(n); m != nil && !alive(m[1]) {
			_, _ = command(ctx, "ip", "netns", "del", n)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "veil-wan-*"))
	for _, d := range dirs {
		if m := tempName.FindStringSubmatch(filepath.Base(d)); m != nil && !alive(m[1]) {
			_ = os.RemoveAll(d)
		}
	}
}

// tempName is the runner's temporary folders' names: veil-wan-PID-RANDOM.
var tempName = regexp.MustCompile(`^veil-wan-([0-9]+)-[0-9]+$`)

// alive tells whether the process of that pid exists.
func alive(pid string) bool {
	if _, err := strconv.Atoi(pid); err != nil {
		return true // not a pid: leave it
	}
	_, err := os.Stat("/proc/" + pid)
	return err == nil
}

// lastLines returns the last n lines of b, for error messages.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
