//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/node/config"
)

// syncBuffer is a bytes.Buffer that a running command writes while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// veil runs the command in this process and returns its exit status,
// stdout and stderr.
func veil(ctx context.Context, args ...string) (int, string, string) {
	var out, errb syncBuffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func write(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeTable(t *testing.T, path string, tab *dataset.Table) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tab.WriteCSV(f); err != nil {
		t.Fatal(err)
	}
}

// pilot is a folder with a pilot PKI, enterprise tables and a center
// config, as a user sets up a trial.
type pilot struct {
	dir, centerYAML string
}

// bankB's columns: the center trains bank-b's models on these only.
var bankBColumns = []string{"tax_paid_annual", "tax_arrears", "years_registered"}

const centerTemplate = `# a pilot center
listen: 127.0.0.1:0
cert: pki/center.pem
key: pki/center-key.pem
ca: pki/ca.pem
registry: center-models
tables:
  enterprises: {source: center.csv, id: id}
banks:
  bank-a: {tables: [enterprises], models: [lr, sbt], outputs: [bands, approve, scores]}
  bank-b: {tables: [enterprises], models: [lr], outputs: [bands], columns: [%s]}
limits:
  trainings: 2
  session_timeout: 10m
audit: audit.jsonl
`

func newPilot(t *testing.T, rows int) *pilot {
	t.Helper()
	dir := t.TempDir()
	if code, out, errs := veil(context.Background(), "pki", "-out", filepath.Join(dir, "pki"), "-names", "center,bank-a,bank-b,bank-c"); code != 0 {
		t.Fatalf("veil pki: %d\n%s%s", code, out, errs)
	}
	bank, center, err := dataset.Synthesize(dataset.SynthOptions{Rows: rows, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	writeTable(t, filepath.Join(dir, "center.csv"), center)
	for _, b := range []string{"bank-a", "bank-b"} {
		if err := os.MkdirAll(filepath.Join(dir, b), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTable(t, filepath.Join(dir, b, "bank.csv"), bank)
		applicants := *bank
		applicants.Labels = nil
		writeTable(t, filepath.Join(dir, b, "applicants.csv"), &applicants)
	}
	p := &pilot{dir: dir}
	p.centerYAML = write(t, filepath.Join(dir, "center.yaml"), fmt.Sprintf(centerTemplate, strings.Join(bankBColumns, ", ")))
	return p
}

// jobYAML writes a bank's job config; bank-c's certificate is one the
// center's config does not list.
func (p *pilot) jobYAML(t *testing.T, bank, addr, model, name, extra string) string {
	t.Helper()
	text := fmt.Sprintf(`center: %s
cert: ../pki/%[2]s.pem
key: ../pki/%[2]s-key.pem
ca: ../pki/ca.pem
registry: models
data: {source: bank.csv, id: id, label: y}
table: enterprises
model: %s
name: %s
%s`, addr, bank, model, name, extra)
	dir := filepath.Join(p.dir, bank)
	os.MkdirAll(dir, 0o755)
	return write(t, filepath.Join(dir, name+"-job.yaml"), text)
}

func (p *pilot) scoreYAML(t *testing.T, bank, addr, name, output string) string {
	t.Helper()
	text := fmt.Sprintf(`center: %s
cert: ../pki/%[2]s.pem
key: ../pki/%[2]s-key.pem
ca: ../pki/ca.pem
registry: models
data: {source: applicants.csv, id: id}
model: %s
output: %s
out: out-%[4]s
approve: 2
`, addr, bank, name, output)
	return write(t, filepath.Join(p.dir, bank, name+"-"+output+"-score.yaml"), text)
}

// startCenter runs `veil center` in this process until the returned stop
// is called, which checks it exits 0.
func startCenter(t *testing.T, cfg string) (addr string, stderr *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	stderr = new(syncBuffer)
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"center", "-config", cfg}, &out, stderr) }()
	re := regexp.MustCompile(`listening (\S+)`)
	deadline := time.Now().Add(time.Minute)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("veil center exited %d before listening:\n%s", code, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("veil center not listening after a minute:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("veil center exited %d:\n%s", code, stderr)
			}
		case <-time.After(2 * time.Minute):
			t.Errorf("veil center did not stop within 2 minutes")
		}
	}
	t.Cleanup(stop)
	return addr, stderr, stop
}

// trainResult is the line `veil train -json` prints.
type trainResult struct {
	Model         string  `json:"model"`
	Name          string  `json:"name"`
	Version       int     `json:"version"`
	AUC           float64 `json:"auc"`
	KS            float64 `json:"ks"`
	RowsAligned   int     `json:"rows_aligned"`
	TrainSeconds  float64 `json:"train_seconds"`
	BytesSent     uint64  `json:"bytes_sent"`
	CenterColumns int     `json:"center_columns"`
	Training      string  `json:"training"`
}

// TestCenterWithTwoBanks is the scenario, driven as a user drives
// the command: a pilot PKI, a center serving two banks, both training at
// once (bank-a SBT, bank-b LR on the columns its policy allows), each
// scoring with its registered model, refusals naming the rule, an unknown
// certificate refused, and a misspelt key failing with file, line and key.
func TestCenterWithTwoBanks(t *testing.T) {
	if testing.Short() {
		t.Skip("two trainings and four scorings: seconds to a minute; skipped in -short")
	}
	p := newPilot(t, 1200)
	ctx := context.Background()

	code, out, errs := veil(ctx, "center", "-config", p.centerYAML, "-check")
	if code != 0 || !strings.Contains(out, "ok") || !strings.Contains(out, "bank bank-b: tables enterprises, 3 columns; models lr; outputs bands") {
		t.Fatalf("center -check: %d\n%s%s", code, out, errs)
	}

	addr, centerLog, stopCenter := startCenter(t, p.centerYAML)

	// Both banks train at once.
	jobA := p.jobYAML(t, "bank-a", addr, "sbt", "sme-sbt", "sbt: {trees: 3, depth: 2}\n")
	jobB := p.jobYAML(t, "bank-b", addr, "lr", "sme-lr", "lr: {epochs: 3}\n")
	var wg sync.WaitGroup
	results := map[string]trainResult{}
	var mu sync.Mutex
	for bank, cfg := range map[string]string{"bank-a": jobA, "bank-b": jobB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, errs := veil(ctx, "train", "-config", cfg, "-json")
			if code != 0 {
				t.Errorf("%s: veil train: %d\n%s", bank, code, errs)
				return
			}
			var r trainResult
			if err := json.Unmarshal([]byte(out), &r); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("%s: train -json printed %q: %v", bank, out, err)
				return
			}
			mu.Lock()
			results[bank] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.Fatalf("center log:\n%s", centerLog)
	}
	a, b := results["bank-a"], results["bank-b"]
	if a.Model != "sbt" || a.Name != "sme-sbt" || a.Version != 1 || b.Model != "lr" || b.Name != "sme-lr" || b.Version != 1 {
		t.Errorf("results %+v %+v", a, b)
	}
	for bank, r := range results {
		if r.RowsAligned < 500 || r.AUC <= 0.6 || r.KS <= 0 || r.TrainSeconds <= 0 || r.BytesSent == 0 || r.Training == "" {
			t.Errorf("%s: %+v: want rows aligned, a test AUC over 0.6, a KS, time and bytes", bank, r)
		}
	}
	if b.CenterColumns != len(bankBColumns) {
		t.Errorf("the center trained bank-b's model on %d columns, want its policy's %d", b.CenterColumns, len(bankBColumns))
	}
	if a.CenterColumns != 12 {
		t.Errorf("the center trained bank-a's model on %d columns, want all 12", a.CenterColumns)
	}

	// SIGHUP reloads the tables (this process's handler is the center's).
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); !strings.Contains(centerLog.String(), "tables reloaded"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", centerLog)
		}
	}

	// Both registries hold the halves.
	code, out, errs = veil(ctx, "models", "-registry", filepath.Join(p.dir, "center-models"))
	if code != 0 || !regexp.MustCompile(`(?m)^bank-a\s+sme-sbt\s+1\s+sbt\s`).MatchString(out) || !regexp.MustCompile(`(?m)^bank-b\s+sme-lr\s+1\s+lr\s`).MatchString(out) {
		t.Errorf("models of the center: %d\n%s%s", code, out, errs)
	}
	code, out, errs = veil(ctx, "models", "-registry", filepath.Join(p.dir, "bank-a", "models"))
	if code != 0 || !regexp.MustCompile(`(?m)^sme-sbt\s+1\s+sbt\s.*auc=0\.\d{4}\b.*ks=0\.\d{4}\b.*\s+[0-9a-f]{12}$`).MatchString(out) || strings.Contains(out, "OWNER") {
		t.Errorf("models of bank-a: %d\n%s%s", code, out, errs)
	}
	code, out, _ = veil(ctx, "models", "-registry", filepath.Join(p.dir, "bank-b", "models"), "-json")
	var meta struct {
		ConfigDigest string `json:"config_digest"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &meta) != nil || meta.ConfigDigest == "" {
		t.Errorf("models -json of bank-b: %d %q", code, out)
	}

	// Each bank scores with its model.
	for _, c := range []struct{ bank, name, output string }{{"bank-a", "sme-sbt", "approve"}, {"bank-b", "sme-lr", "bands"}} {
		code, out, errs := veil(ctx, "score", "-config", p.scoreYAML(t, c.bank, addr, c.name, c.output))
		if code != 0 {
			t.Fatalf("%s: veil score: %d\n%s%s\ncenter:\n%s", c.bank, code, out, errs, centerLog)
		}
		dir := filepath.Join(p.dir, c.bank, "out-"+c.output)
		grades := readCSV(t, filepath.Join(dir, "grades.csv"))
		if len(grades) < 500 || grades[0][0] != "id" || grades[0][1] != "grade" {
			t.Errorf("%s: grades.csv has %d lines, header %v", c.bank, len(grades), grades[0])
		}
		for _, row := range grades[1:] {
			if len(row) != 2 || len(row[1]) != 1 || row[1] < "A" || row[1] > "E" {
				t.Fatalf("%s: grades.csv row %v: want id and a grade A..E only (no score with %s)", c.bank, row, c.output)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "whitelist.csv")); err != nil {
			t.Errorf("%s: %v", c.bank, err)
		}
	}

	// What bank-b's policy does not allow is refused, naming the rule.
	code, _, errs = veil(ctx, "score", "-config", p.scoreYAML(t, "bank-b", addr, "sme-lr", "scores"))
	if code != 1 || !strings.Contains(errs, "center refused") || !strings.Contains(errs, "banks.bank-b.outputs: [bands]") {
		t.Errorf("bank-b asking for scores: %d %q", code, errs)
	}
	code, _, errs = veil(ctx, "train", "-config", p.jobYAML(t, "bank-b", addr, "sbt", "sme-sbt", "sbt: {trees: 2}\n"))
	if code != 1 || !strings.Contains(errs, "center refused") || !strings.Contains(errs, "banks.bank-b.models: [lr]") {
		t.Errorf("bank-b asking for sbt: %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "bank-b", "models", "sme-sbt")); err == nil {
		t.Error("a refused training left a model in bank-b's registry")
	}

	// Certificates the center's config does not list are refused at the
	// handshake: a name outside banks: signed by the same CA, and bank-a's
	// name signed by another CA.
	code, _, errs = veil(ctx, "train", "-config", p.jobYAML(t, "bank-c", addr, "lr", "c-lr", ""))
	if code != 1 || errs == "" {
		t.Errorf("bank-c (not in banks:): %d %q", code, errs)
	}
	other := filepath.Join(p.dir, "other")
	if code, _, errs := veil(ctx, "pki", "-out", filepath.Join(other, "pki"), "-names", "bank-a"); code != 0 {
		t.Fatal(errs)
	}
	// The impostor trusts the real CA (to check the center) but holds a
	// certificate of its own CA.
	impostor := write(t, filepath.Join(other, "job.yaml"), fmt.Sprintf(`center: %s
cert: pki/bank-a.pem
key: pki/bank-a-key.pem
ca: ../pki/ca.pem
registry: models
data: {source: ../bank-a/bank.csv, label: y}
table: enterprises
model: lr
name: x
`, addr))
	code, _, errs = veil(ctx, "train", "-config", impostor)
	if code != 1 || errs == "" {
		t.Errorf("bank-a's name from another CA: %d %q", code, errs)
	}
	for _, dir := range []string{filepath.Join(p.dir, "center-models", "bank-c"), filepath.Join(other, "models", "x")} {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s exists after a refused certificate", dir)
		}
	}

	stopCenter()
	if log := centerLog.String(); !strings.Contains(log, "center stopped") {
		t.Errorf("center log lacks its stop:\n%s", log)
	}

	// The center's audit log verifies, and its report shows what each
	// bank obtained.
	auditLog := filepath.Join(p.dir, "audit.jsonl")
	if code, out, errs := veil(ctx, "audit", "verify", auditLog); code != 0 || !strings.HasPrefix(out, "ok ") {
		t.Errorf("veil audit verify: %d %s%s", code, out, errs)
	}
	code, out, errs = veil(ctx, "audit", "report", auditLog, "-per", "all")
	for _, want := range []string{"bank-a", "bank-b", "boost.histograms", "vlr.center-gradient", "score.bands", "node.grant-grades"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("veil audit report: %d, no %q:\n%s%s", code, want, out, errs)
		}
	}
	t.Logf("veil audit report:\n%s", out)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return rows
}

// TestConfigErrors: a misspelt key, a missing file or a bad command line
// fail with the file, line and key, and the right exit status, before
// anything is served.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	good := fmt.Sprintf(centerTemplate, "c0")
	bad := write(t, filepath.Join(dir, "center.yaml"), strings.Replace(good, "models: [lr], ", "modles: [lr], ", 1))
	job := write(t, filepath.Join(dir, "job.yaml"), "center: x:1\ncert: a\nkey: b\nca: c\nregistry: r\ndata: {source: d, label: y}\ntable: t\nmodel: lr\nname: n\nlr:\n  epoch: 3\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"misspelt key", []string{"center", "-config", bad}, 1, bad + ":11:35: banks.bank-b.modles: unknown key"},
		{"misspelt key, check", []string{"center", "-config", bad, "-check"}, 1, bad + ":11:35: banks.bank-b.modles: unknown key"},
		{"job key", []string{"train", "-config", job}, 1, job + ":11:3: lr.epoch: unknown key"},
		{"no such file", []string{"score", "-config", filepath.Join(dir, "none.yaml")}, 1, "none.yaml: no such file"},
		{"no -config", []string{"center"}, 2, "missing -config"},
		{"unknown flag", []string{"train", "-config", job, "-fast"}, 2, "flag provided but not defined: -fast"},
		{"unknown command", []string{"serve"}, 2, `unknown command "serve"`},
		{"no command", nil, 2, "usage:"},
		{"pki names", []string{"pki", "-out", dir, "-names", "Bank_A"}, 1, "Bank_A"},
		{"models of nothing", []string{"models", "-registry", filepath.Join(dir, "none")}, 1, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := veil(context.Background(), c.args...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, c.code, c.want)
			}
			if out != "" {
				t.Errorf("stdout %q on an error", out)
			}
		})
	}
}

// TestExampleConfigs: the commented examples in testdata decode.
func TestExampleConfigs(t *testing.T) {
	if c, err := config.LoadCenter("testdata/center.yaml"); err != nil {
		t.Error(err)
	} else if c.Audit != filepath.Join("testdata", "audit.jsonl") || c.Metrics != "127.0.0.1:9464" {
		t.Errorf("center audit %q, metrics %q", c.Audit, c.Metrics)
	}
	j, err := config.LoadJob("testdata/job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if j.Model != "sbt" || j.SBT.Trees != 30 || j.Registry != filepath.Join("testdata", "bank-models") {
		t.Errorf("job %+v", j)
	}
	s, err := config.LoadScore("testdata/score.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Output != "approve" || s.Out != filepath.Join("testdata", "scoring-out") {
		t.Errorf("score %+v", s)
	}
}

// TestPKIAndModels: veil pki writes what the configs name, and veil models
// lists an empty registry.
func TestPKIAndModels(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := veil(context.Background(), "pki", "-out", filepath.Join(dir, "p"), "-names", "center, bank-a")
	if code != 0 {
		t.Fatalf("%d %s", code, errs)
	}
	for _, f := range []string{"ca.pem", "center.pem", "center-key.pem", "bank-a.pem", "bank-a-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, "p", f)); err != nil {
			t.Errorf("%v (stdout %q)", err, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "p", "bank-a-key.pem")); err == nil && st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	os.Mkdir(filepath.Join(dir, "reg"), 0o755)
	if code, out, _ := veil(context.Background(), "models", "-registry", filepath.Join(dir, "reg")); code != 0 || !strings.Contains(out, "(no models)") {
		t.Errorf("empty registry: %d %q", code, out)
	}
}

// TestGracefulShutdown runs the built command as a process: SIGTERM while
// a bank trains lets the training finish and stores both halves, refuses
// new sessions, and the center exits 0.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs a training: skipped in -short")
	}
	bin := filepath.Join(t.TempDir(), "veil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p := newPilot(t, 1000)
	cmd := exec.Command(bin, "center", "-config", p.centerYAML)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening ") {
		t.Fatalf("first line %q\n%s", lines.Text(), stderr.String())
	}
	addr := strings.TrimPrefix(lines.Text(), "listening ")
	go func() { io.Copy(io.Discard, stdout); exited <- cmd.Wait() }()

	// A training starts; once the center has granted it, SIGTERM.
	jobB := p.jobYAML(t, "bank-b", addr, "lr", "sme-lr", "lr: {epochs: 3}\n")
	trained := make(chan string, 1)
	go func() {
		code, out, errs := veil(context.Background(), "train", "-config", jobB, "-json")
		trained <- fmt.Sprintf("%d %s%s", code, out, errs)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stderr.String(), "session start") {
		if time.Now().After(deadline) {
			t.Fatalf("no session started:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(stderr.String(), "center draining") {
		if time.Now().After(deadline) {
			t.Fatalf("no draining:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), `"msg":"center draining","running":1`) {
		t.Errorf("the training was not running when the center began draining:\n%s", stderr.String())
	}
	// New sessions are refused while draining.
	code, _, errs := veil(context.Background(), "train", "-config", p.jobYAML(t, "bank-a", addr, "lr", "late", "lr: {epochs: 1}\n"))
	if code != 1 {
		t.Errorf("a training asked for while draining: exit %d %q", code, errs)
	}
	res := <-trained
	if !strings.HasPrefix(res, "0 {") {
		t.Errorf("the running training did not finish: %s\ncenter:\n%s", res, stderr.String())
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("center exited with %v:\n%s", err, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("center still running 2 minutes after SIGTERM:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(p.dir, "center-models", "bank-b", "sme-lr", "1", "meta.json")); err != nil {
		t.Errorf("the center's half of the drained training: %v", err)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "center-models", "bank-a", "late")); err == nil {
		t.Error("a session asked for while draining ran")
	}
}
