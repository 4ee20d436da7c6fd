package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veil-fl/veil/job"
)

const centerYAML = `listen: 127.0.0.1:7070
cert: center.pem
key: center-key.pem
ca: ca.pem
registry: center-models/
tables:
  enterprises: {source: center.csv, id: id}
banks:
  bank-a: {tables: [enterprises], models: [lr, sbt, woe], outputs: [bands, approve, scores]}
  bank-b: {tables: [enterprises], models: [lr], outputs: [bands], columns: [c0, c1, c2]}
`

const jobYAML = `center: 127.0.0.1:7070
center_name: center
cert: bank-a.pem
key: bank-a-key.pem
ca: ca.pem
registry: bank-models/
data: {source: bank.csv, id: id, label: y}
table: enterprises
model: lr
name: sme-credit
`

const scoreYAML = `center: 127.0.0.1:7070
cert: bank-a.pem
key: bank-a-key.pem
ca: ca.pem
registry: bank-models/
data: {source: applicants.csv, id: id}
model: sme-credit
output: approve
out: scoring-out/
`

func TestCenterDefaults(t *testing.T) {
	c, err := ParseCenter("/etc/veil/center.yaml", []byte(centerYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{Sessions: 32, PerBank: 4, Trainings: 2, Rows: 1_000_000, SessionTimeout: time.Hour, IdleTimeout: 2 * time.Minute}
	if c.Limits != want {
		t.Errorf("limits %+v, want %+v", c.Limits, want)
	}
	if c.Cert != "/etc/veil/center.pem" || c.Registry != "/etc/veil/center-models" || c.Tables["enterprises"].Source != "/etc/veil/center.csv" {
		t.Errorf("paths not resolved against the file's folder: %q %q %q", c.Cert, c.Registry, c.Tables["enterprises"].Source)
	}
	if !slices.Equal(c.Scoring.Grades, DefaultGrades) {
		t.Errorf("grades %v", c.Scoring.Grades)
	}
	b, ok := c.Bank("bank-b")
	if !ok || b.MaxSessions != 4 || b.MaxRows != 1_000_000 || !slices.Equal(b.Columns, []string{"c0", "c1", "c2"}) {
		t.Errorf("bank-b %+v", b)
	}
	if got := c.Rule("bank-b", "models"); got != "banks.bank-b.models: [lr]" {
		t.Errorf("rule %q", got)
	}
	if !slices.Equal(c.BankNames(), []string{"bank-a", "bank-b"}) {
		t.Errorf("banks %v", c.BankNames())
	}
}

func TestCenterSettings(t *testing.T) {
	y := centerYAML + `limits:
  sessions: 8
  per_bank: 2
  trainings: 1
  rows: 200_000
  session_timeout: 30m
  idle_timeout: 45s
scoring:
  grades: [0.1, 0.3]
  batch_rows: 1024
`
	y = strings.Replace(y, "bank-b: {", "bank-b: {max_sessions: 9, max_rows: 10, ", 1)
	c, err := ParseCenter("c.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{Sessions: 8, PerBank: 2, Trainings: 1, Rows: 200_000, SessionTimeout: 30 * time.Minute, IdleTimeout: 45 * time.Second}
	if c.Limits != want || !slices.Equal(c.Scoring.Grades, []float64{0.1, 0.3}) || c.Scoring.BatchRows != 1024 {
		t.Errorf("got %+v %+v", c.Limits, c.Scoring)
	}
	if b, _ := c.Bank("bank-b"); b.MaxSessions != 2 || b.MaxRows != 10 {
		t.Errorf("bank-b limits %d %d, want 2 (capped by per_bank) and 10", b.MaxSessions, b.MaxRows)
	}
}

// TestErrors: every config error names the file, the line (and column) and
// the dotted key.
func TestErrors(t *testing.T) {
	cases := []struct {
		name, kind, yaml, want string
	}{
		{"misspelt key", "center", strings.Replace(centerYAML, "models: [lr]", "modles: [lr]", 1),
			"center.yaml:10:35: banks.bank-b.modles: unknown key"},
		{"unknown top key", "center", centerYAML + "audits: a.jsonl\n", "center.yaml:11:1: audits: unknown key"},
		{"missing required", "center", strings.Replace(centerYAML, "ca: ca.pem\n", "", 1), "center.yaml:1:1: ca: missing required key"},
		{"missing nested", "center", strings.Replace(centerYAML, "{source: center.csv, id: id}", "{id: id}", 1),
			"center.yaml:7:16: tables.enterprises.source: missing required key"},
		{"wrong type", "center", centerYAML + "limits: {sessions: many}\n", "center.yaml:11:20: limits.sessions: want an integer, got the string \"many\""},
		{"wrong duration", "center", centerYAML + "limits: {idle_timeout: 5}\n", "center.yaml:11:24: limits.idle_timeout: want a duration such as 30s or 10m, got the integer 5"},
		{"list wanted", "center", strings.Replace(centerYAML, "models: [lr]", "models: lr", 1), "center.yaml:10:43: banks.bank-b.models: want a list, got the string \"lr\""},
		{"unknown table", "center", strings.Replace(centerYAML, "bank-b: {tables: [enterprises]", "bank-b: {tables: [firms]", 1),
			"center.yaml:10:12: banks.bank-b.tables: no table \"firms\" in tables: (have enterprises)"},
		{"unknown model", "center", strings.Replace(centerYAML, "models: [lr]", "models: [xgb]", 1), "banks.bank-b.models: unknown model kind \"xgb\""},
		{"unknown output", "center", strings.Replace(centerYAML, "outputs: [bands]", "outputs: [probs]", 1), "banks.bank-b.outputs: unknown output \"probs\""},
		{"zero limit", "center", centerYAML + "limits:\n  trainings: 0\n", "center.yaml:12:3: limits.trainings: must be at least 1"},
		{"grades", "center", centerYAML + "scoring: {grades: [0.2, 0.1]}\n", "scoring.grades: want ascending probabilities"},
		{"twice", "center", centerYAML + "listen: :1\n", "center.yaml:11:1: listen: given twice"},
		{"alias", "center", centerYAML + "limits: &l {rows: 1}\n", "limits: anchors and aliases are not supported"},
		{"syntax", "center", "listen: [\n", "center.yaml:"},
		{"empty", "center", "", "center.yaml: empty config"},
		{"not a mapping", "center", "- a\n", "center.yaml:1:1: want a mapping of keys, got a list"},
		{"postgres without query", "center", strings.Replace(centerYAML, "source: center.csv", "source: postgres://h/db", 1), "tables.enterprises.source: a postgres:// source needs query:"},
		{"job label", "job", strings.Replace(jobYAML, ", label: y", "", 1), "job.yaml:7:1: data.label: missing required key"},
		{"job model", "job", strings.Replace(jobYAML, "model: lr", "model: svm", 1), "job.yaml:9:1: model: unknown model kind \"svm\""},
		{"job name", "job", strings.Replace(jobYAML, "name: sme-credit", "name: ../x", 1), "job.yaml:10:1: name: \"../x\" is not a name"},
		{"job other section", "job", jobYAML + "sbt: {trees: 3}\n", "job.yaml:11:1: sbt: settings of a model this job does not train"},
		{"job bad option", "job", jobYAML + "lr: {optimizer: rmsprop}\n", "job.yaml:11:1: lr:"},
		{"job test and frac", "job", jobYAML + "test: {source: t.csv}\ntest_frac: 0.3\n", "job.yaml:12:1: test_frac: give test: or test_frac, not both"},
		{"job frac", "job", jobYAML + "test_frac: 1.5\n", "test_frac: want a share in (0, 1)"},
		{"job float wanted", "job", jobYAML + "test_frac: x\n", "test_frac: want a number"},
		{"job bool wanted", "job", jobYAML + "lr: {reveal_gradients: 1}\n", "lr.reveal_gradients: want true or false"},
		{"job nan", "job", jobYAML + "test_frac: .nan\n", "test_frac: want a finite number"},
		{"score output", "score", strings.Replace(scoreYAML, "output: approve", "output: probabilities", 1), "score.yaml:8:1: output: unknown output"},
		{"score label", "score", strings.Replace(scoreYAML, "id: id}", "id: id, label: y}", 1), "data.label: scoring data has no labels"},
		{"score version", "score", scoreYAML + "version: -1\n", "version: negative"},
		{"score version type", "score", scoreYAML + "version: latest\n", "score.yaml:10:10: version: want an integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			switch c.kind {
			case "center":
				_, err = ParseCenter("center.yaml", []byte(c.yaml))
			case "job":
				_, err = ParseJob("job.yaml", []byte(c.yaml))
			case "score":
				_, err = ParseScore("score.yaml", []byte(c.yaml))
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *config.Error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			if ce.File == "" || (c.name != "empty" && ce.Line == 0) {
				t.Errorf("error %+v lacks its file or line", ce)
			}
		})
	}
}

func TestJob(t *testing.T) {
	y := strings.Replace(jobYAML, "model: lr", "model: sbt", 1) + "sbt: {trees: 7, depth: 2, dp_epsilon: 1}\ntest: {source: t.csv}\n"
	j, err := ParseJob(filepath.Join("cfg", "job.yaml"), []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if j.Data.Source != filepath.Join("cfg", "bank.csv") || j.Test.Source != filepath.Join("cfg", "t.csv") || j.Test.Label != "y" || j.Test.ID != "id" {
		t.Errorf("data %+v test %+v", j.Data, j.Test)
	}
	if len(j.Digest) != 64 {
		t.Errorf("digest %q", j.Digest)
	}
	s, err := j.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Models, []job.Kind{job.SBT}) || s.SBT.Trees != 7 || s.SBT.MaxDepth != 2 || s.SBT.DP == nil || s.SBT.DP.Delta != 1e-5 ||
		s.Seed != 42 || s.TestFraction != 0.2 || s.SBT.Bins != 32 {
		t.Errorf("spec %+v", s)
	}
	if s.LR.Epochs != 30 || s.LR.Optimizer.L2 != -1 || s.Clip != 5 || s.Scorecard.PDO != 20 {
		t.Errorf("LR defaults %+v clip %v", s.LR, s.Clip)
	}
	j2, _ := ParseJob("job.yaml", []byte(y+"\n"))
	if j2.Digest == j.Digest {
		t.Error("digest ignores the file's bytes")
	}
	j3, err := ParseJob("job.yaml", []byte(jobYAML+"lr: {clip: 0, epochs: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s3, _ := j3.Spec(); s3.Clip != -1 || s3.LR.Epochs != 3 {
		t.Errorf("clip 0: spec clip %v, want -1 (none)", s3.Clip)
	}
}

func TestScore(t *testing.T) {
	s, err := ParseScore("/x/score.yaml", []byte(scoreYAML))
	if err != nil {
		t.Fatal(err)
	}
	if s.CenterName != "center" || s.Version != 0 || s.Output != OutputApprove || s.Out != "/x/scoring-out" || s.Approve != 2 || s.Grades != nil || s.Data.ID != "id" {
		t.Errorf("score %+v", s)
	}
}

func TestCheckName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{{"sme-credit", true}, {"a", true}, {"v2.1_x", true}, {"", false}, {"12", false}, {"../a", false}, {"a/b", false}, {".a", false}, {strings.Repeat("a", 65), false}} {
		if err := CheckName(c.name); (err == nil) != c.ok {
			t.Errorf("CheckName(%q) = %v", c.name, err)
		}
	}
}

// FuzzParse: no input makes the decoders panic, and every error they
// return is a *Error naming the file.
func FuzzParse(f *testing.F) {
	for _, s := range []string{centerYAML, jobYAML, scoreYAML, "", "a: [", "&a [*a]", "limits: {rows: 1e400}", "x: !!binary aGk="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string, []byte) error{
			func(n string, b []byte) error { _, err := ParseCenter(n, b); return err },
			func(n string, b []byte) error { _, err := ParseJob(n, b); return err },
			func(n string, b []byte) error { _, err := ParseScore(n, b); return err },
		} {
			err := parse("f.yaml", []byte(s))
			var ce *Error
			if err != nil && (!errors.As(err, &ce) || ce.File != "f.yaml") {
				t.Fatalf("error %v (%T) is not a *Error naming the file", err, err)
			}
		}
	})
}

// TestLoadTables: the tables load from their sources, and a bank's column
// that no table it may use holds is an error at its key's line.
func TestLoadTables(t *testing.T) {
	dir := t.TempDir()
	csv := "id,c0,c1,c2,c3\na,1,2,3,4\nb,5,6,7,8\n"
	if err := os.WriteFile(filepath.Join(dir, "center.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "center.yaml")
	c, err := ParseCenter(path, []byte(centerYAML))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.LoadTables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tab := tables["enterprises"]; tab.Rows() != 2 || tab.Cols() != 4 {
		t.Errorf("table %d x %d", tab.Rows(), tab.Cols())
	}
	c, err = ParseCenter(path, []byte(strings.Replace(centerYAML, "columns: [c0, c1, c2]", "columns: [c0, c9]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LoadTables(context.Background())
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 10 || ce.Key != "banks.bank-b.columns" || !strings.Contains(ce.Msg, `"c9"`) {
		t.Errorf("unknown column: %v", err)
	}
	os.Remove(filepath.Join(dir, "center.csv"))
	if _, err := c.LoadTables(context.Background()); err == nil || !strings.Contains(err.Error(), "tables.enterprises") {
		t.Errorf("missing source: %v", err)
	}
}

// TestAuditAndMetrics: center.yaml's audit (resolved against the file's
// folder) and metrics (host:port) keys, and the banks' optional audit;
// a metrics address without a port is refused at its key.
func TestAuditAndMetrics(t *testing.T) {
	c, err := ParseCenter("/etc/veil/center.yaml", []byte(centerYAML+"audit: audit.jsonl\nmetrics: 127.0.0.1:9464\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit != "/etc/veil/audit.jsonl" || c.Metrics != "127.0.0.1:9464" {
		t.Errorf("audit %q, metrics %q", c.Audit, c.Metrics)
	}
	c, err = ParseCenter("/etc/veil/center.yaml", []byte(centerYAML))
	if err != nil || c.Audit != "" || c.Metrics != "" {
		t.Errorf("without the keys: audit %q, metrics %q, err %v", c.Audit, c.Metrics, err)
	}
	_, err = ParseCenter("/etc/veil/center.yaml", []byte(centerYAML+"metrics: 9464\n"))
	if err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("metrics: 9464: err %v, want one naming metrics", err)
	}
	j, err := ParseJob("/home/bank/job.yaml", []byte(jobYAML+"audit: bank-audit.jsonl\n"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Audit != "/home/bank/bank-audit.jsonl" {
		t.Errorf("job audit %q", j.Audit)
	}
	s, err := ParseScore("/home/bank/score.yaml", []byte(scoreYAML+"audit: bank-audit.jsonl\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Audit != "/home/bank/bank-audit.jsonl" {
		t.Errorf("score audit %q", s.Audit)
	}
}
