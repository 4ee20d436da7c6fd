// Command scoring is the pre-approval job: the bank scores every enterprise
// it knows with a jointly trained model, through the credit center's
// encrypted scoring service, and writes a pre-credit whitelist.
//
//	go run ./examples/scoring -out scoring-out
//	go run ./examples/scoring -model sbt -scores -out scoring-out
//	go run ./examples/scoring -bank-model out/active_lr.json -center-model out/passive_lr.json \
//	    -bank bank.csv -center center.csv -out scoring-out
//
// Without -bank-model/-center-model it first runs the training job (package
// job, both parties in this process) on the data (built-in synthetic
// enterprises unless -bank/-center name CSV files): alignment, the bank's
// hold-out of a fifth of the aligned rows for the test AUC and KS it logs,
// training on the rest, and the halves scored below. An LR model reads
// categorical columns (text, or named by -categorical) by label through the
// encoding its halves keep, so the tables scored may have dictionaries of
// their own; a label the training rows lacked scores as a missing cell.
// Then the credit center's scoring service starts on loopback with mutual
// TLS and the bank requests one session: private set intersection of the
// enterprise ids, then the grades. By default the bank learns only each
// enterprise's grade, by secure comparison of the two parties' fixed-point
// shares of its logit with the center's cut points (fl/score's band
// output): no key is generated, nothing is decrypted, and the score exists
// nowhere. With -scores (which the center must allow) the pair generates
// threshold keys, the center encrypts its part and the logit is jointly
// decrypted to the bank, which derives the grade, probability and points.
// It writes to -out:
//
//   - grades.csv: id, grade (A is the lowest probability of default), and
//     with -scores the probability of default and scorecard points;
//   - whitelist.csv: the enterprises in the best -approve grades with their
//     pre-approved collateral-free credit line (at most -max-line yuan,
//     falling by grade) and annual rate (from -rate-min % for grade A to
//     -rate-max % for the last approved grade).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
	"github.com/veil-fl/veil/node"
)

type flags struct {
	modelKind              string
	bank, center           string
	bankModel, centerModel string
	id, label              string
	categorical            []string
	textColumns            bool
	rows                   int
	seed                   int64
	out                    string
	scores                 bool
	grades                 []float64
	approve                int
	maxLine                float64
	rateMin, rateMax       float64
	epochs, trees, depth   int
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("scoring", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.modelKind, "model", "lr", "model to train or load: lr or sbt")
	fs.StringVar(&f.bank, "bank", "", "the bank's table (id, label, features): a CSV path, a .parquet path, or postgres://...#QUERY; default: built-in synthetic enterprises")
	fs.StringVar(&f.center, "center", "", "the credit center's table (id, features), in the same forms as -bank")
	fs.StringVar(&f.bankModel, "bank-model", "", "the bank's half of a trained model (examples/twoparty -out); skips training")
	fs.StringVar(&f.centerModel, "center-model", "", "the center's half of the same model")
	fs.StringVar(&f.id, "id", "id", "id column of the CSV files")
	fs.StringVar(&f.label, "label", "y", "label column of the bank's CSV")
	categorical := fs.String("categorical", "", "comma-separated feature columns (of either party) to read as categorical though their cells are numbers; columns of text are categorical without it")
	fs.BoolVar(&f.textColumns, "text-columns", true, "synthetic enterprises: give both parties text categorical columns (district, legal form, loan product, ...); -text-columns=false for numbers only")
	fs.IntVar(&f.rows, "rows", 20000, "synthetic enterprises per party")
	fs.Int64Var(&f.seed, "seed", 1, "synthetic data seed")
	fs.StringVar(&f.out, "out", "scoring-out", "output folder")
	fs.BoolVar(&f.scores, "scores", false, "decrypt each score to the bank (probability, points) under threshold keys; default: grades only, by secure comparison")
	grades := fs.String("grades", "0.02,0.05,0.10,0.20", "probability-of-default cut points between grades A, B, C, ... (ascending)")
	fs.IntVar(&f.approve, "approve", 2, "number of best grades pre-approved")
	fs.Float64Var(&f.maxLine, "max-line", 3_000_000, "credit line of grade A, yuan; grade k gets max-line*(approve-k)/approve")
	fs.Float64Var(&f.rateMin, "rate-min", 3.8, "annual rate of grade A, percent")
	fs.Float64Var(&f.rateMax, "rate-max", 4.2, "annual rate of the last approved grade, percent")
	fs.IntVar(&f.epochs, "epochs", 10, "LR epochs when training (momentum on secret shares, full batch)")
	fs.IntVar(&f.trees, "trees", 30, "trees when training sbt")
	fs.IntVar(&f.depth, "depth", 3, "tree depth when training sbt")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.modelKind != "lr" && f.modelKind != "sbt" {
		return nil, fmt.Errorf("-model %q: want lr or sbt", f.modelKind)
	}
	if (f.bank == "") != (f.center == "") {
		return nil, errors.New("-bank and -center go together")
	}
	for _, name := range strings.Split(*categorical, ",") {
		if name = strings.TrimSpace(name); name != "" {
			f.categorical = append(f.categorical, name)
		}
	}
	if (f.bankModel == "") != (f.centerModel == "") {
		return nil, errors.New("-bank-model and -center-model go together")
	}
	for _, s := range strings.Split(*grades, ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(p > 0 && p < 1) || (len(f.grades) > 0 && p <= f.grades[len(f.grades)-1]) {
			return nil, fmt.Errorf("-grades %q: want ascending probabilities in (0, 1)", *grades)
		}
		f.grades = append(f.grades, p)
	}
	if len(f.grades) > 25 {
		return nil, fmt.Errorf("-grades: at most 25 cut points (grades A-Z)")
	}
	if f.approve < 1 || f.approve > len(f.grades)+1 {
		return nil, fmt.Errorf("-approve %d: want 1 .. %d grades", f.approve, len(f.grades)+1)
	}
	if !(f.maxLine > 0) || !(f.rateMin > 0) || f.rateMax < f.rateMin {
		return nil, errors.New("-max-line must be positive and -rate-min <= -rate-max")
	}
	return f, nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scoring:", err)
		os.Exit(1)
	}
}

// models holds both halves of the model (the example plays both parties).
type models struct {
	lrBank, lrCenter       *model.LRHalf
	treesBank              *boost.ActiveModel
	treesCenter            *boost.PassiveModel
	bankCols, centerCols   []int // table columns in model order
	bankTable, centerTable *dataset.Table
}

func run(args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	bank, center, err := loadData(f)
	if err != nil {
		return err
	}
	var m *models
	if f.bankModel != "" {
		m, err = loadModels(f, bank, center)
	} else {
		log.Info("training the model federated", "model", f.modelKind, "bank", bank.Name, "center", center.Name)
		m, err = train(ctx, f, bank, center, log)
	}
	if err != nil {
		return err
	}

	cuts, err := score.ProbabilityCuts(f.grades)
	if err != nil {
		return err
	}
	opt := score.Options{Output: score.Bands, Cuts: cuts}
	if f.scores {
		opt.Output = score.Scores
	}
	log.Info("starting the credit center's scoring service on loopback", "output", opt.Output.String())
	start := time.Now()
	res, st, err := scoreAll(ctx, m, opt)
	if err != nil {
		return err
	}
	sec := time.Since(start).Seconds()
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	counts, approved, err := writeOutputs(f, res)
	if err != nil {
		return err
	}
	setupWhat := "alignment and the OT setup"
	if f.scores {
		setupWhat = "alignment and keys"
	}
	fmt.Fprintf(stdout, "scored %d of the bank's %d enterprises (known to both parties) in %.1f s: %.0f records/s including %s; %.1f MiB exchanged\n",
		len(res.IDs), bank.Rows(), sec, float64(len(res.IDs))/sec, setupWhat, float64(st.SentBytes+st.RecvBytes)/(1<<20))
	for g, c := range counts {
		fmt.Fprintf(stdout, "  grade %c: %d\n", 'A'+g, c)
	}
	fmt.Fprintf(stdout, "pre-approved %d enterprises (grades A-%c); wrote %s and %s\n", approved, 'A'+f.approve-1,
		filepath.Join(f.out, "grades.csv"), filepath.Join(f.out, "whitelist.csv"))
	return nil
}

func loadData(f *flags) (bank, center *dataset.Table, err error) {
	if f.bank == "" {
		return dataset.Synthesize(dataset.SynthOptions{Rows: f.rows, Seed: f.seed, Categorical: f.textColumns})
	}
	if bank, err = load(f.bank, dataset.TableOptions{IDColumn: f.id, LabelColumn: f.label}, f.categorical); err != nil {
		return nil, nil, err
	}
	if center, err = load(f.center, dataset.TableOptions{IDColumn: f.id}, f.categorical); err != nil {
		return nil, nil, err
	}
	for _, name := range f.categorical {
		_, inBank := bank.ColumnIndex(name)
		_, inCenter := center.ColumnIndex(name)
		if !inBank && !inCenter {
			return nil, nil, fmt.Errorf("-categorical: no feature column %q in %s or %s", name, bank.Name, center.Name)
		}
	}
	return bank, center, nil
}

// load reads a table, again with the declared categorical columns it holds
// (they may be either party's).
func load(path string, opt dataset.TableOptions, declared []string) (*dataset.Table, error) {
	t, err := dataset.Load(context.Background(), path, opt)
	if err != nil {
		return nil, err
	}
	for _, name := range declared {
		if _, ok := t.ColumnIndex(name); ok {
			opt.Categorical = append(opt.Categorical, name)
		}
	}
	if opt.Categorical == nil {
		return t, nil
	}
	return dataset.Load(context.Background(), path, opt)
}

// columns maps model feature names to table columns.
func columns(t *dataset.Table, names []string) ([]int, error) {
	cols := make([]int, len(names))
	for j, n := range names {
		c, ok := t.ColumnIndex(n)
		if !ok {
			return nil, fmt.Errorf("the model's column %q is not in %s", n, t.Name)
		}
		cols[j] = c
	}
	return cols, nil
}

func allColumns(t *dataset.Table) []int {
	cols := make([]int, t.Cols())
	for j := range cols {
		cols[j] = j
	}
	return cols
}

func loadModels(f *flags, bank, center *dataset.Table) (*models, error) {
	m := &models{bankTable: bank, centerTable: center}
	open := func(path string, load func(io.Reader) error) error {
		r, err := os.Open(path)
		if err != nil {
			return err
		}
		defer r.Close()
		if err := load(r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	var err error
	if f.modelKind == "lr" {
		err = errors.Join(
			open(f.bankModel, func(r io.Reader) (err error) { m.lrBank, err = model.LoadLRHalf(r); return }),
			open(f.centerModel, func(r io.Reader) (err error) { m.lrCenter, err = model.LoadLRHalf(r); return }))
		if err != nil {
			return nil, err
		}
		if m.bankCols, err = columns(bank, m.lrBank.Features); err != nil {
			return nil, err
		}
		m.centerCols, err = columns(center, m.lrCenter.Features)
		return m, err
	}
	err = errors.Join(
		open(f.bankModel, func(r io.Reader) (err error) { m.treesBank, err = boost.LoadActiveModel(r); return }),
		open(f.centerModel, func(r io.Reader) (err error) { m.treesCenter, err = boost.LoadPassiveModel(r); return }))
	if err != nil {
		return nil, err
	}
	if bank.Cols() != m.treesBank.Binning.Dim() || center.Cols() != m.treesCenter.Binning.Dim() {
		return nil, fmt.Errorf("the ensemble has %d + %d columns, the tables %d + %d", m.treesBank.Binning.Dim(), m.treesCenter.Binning.Dim(), bank.Cols(), center.Cols())
	}
	m.bankCols, m.centerCols = allColumns(bank), allColumns(center)
	return m, nil
}

// train runs the training job for the chosen model (alignment, the
// bank's test split, each party's encoding and standardization, training,
// the test evaluation), both parties in this process over the in-memory
// transport, and takes the halves from its results: the example trains
// exactly as a two-party deployment does, and the halves it scores with are
// the ones the job would save.
func train(ctx context.Context, f *flags, bank, center *dataset.Table, log *slog.Logger) (*models, error) {
	kind := job.Kind(f.modelKind)
	spec := func(t *dataset.Table, party string) job.Spec {
		return job.Spec{Train: t, Seed: f.seed, Models: []job.Kind{kind}, LR: vlr.Options{Epochs: f.epochs},
			SBT:    boost.Options{GBDTOptions: model.GBDTOptions{Trees: f.trees, MaxDepth: f.depth}},
			Logger: log.With("party", party)}
	}
	ta, tc := fl.NewPipe()
	defer ta.Close()
	defer tc.Close()
	type outcome struct {
		r   *job.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := job.RunPassive(ctx, tc, spec(center, "center"))
		done <- outcome{r, err}
	}()
	br, err := job.RunActive(ctx, ta, spec(bank, "bank"))
	if err != nil {
		// The job tells the center why it ends; closing the pipe also ends
		// a center still waiting when the bank failed before it could.
		ta.Close()
	}
	c := <-done
	if err := errors.Join(err, c.err); err != nil {
		return nil, err
	}
	bm, cm := br.Model(kind), c.r.Model(kind)
	if bm == nil || cm == nil {
		return nil, fmt.Errorf("the job returned no %s model", kind)
	}
	log.Info("trained", "model", kind, "rows_aligned", br.RowsAligned, "test_auc", bm.AUC, "test_ks", bm.KS)
	m := &models{bankTable: bank, centerTable: center, bankCols: allColumns(bank), centerCols: allColumns(center)}
	if kind == job.SBT {
		m.treesBank, m.treesCenter = bm.SBTActive, cm.SBTPassive
		return m, nil
	}
	m.lrBank, m.lrCenter = bm.LRHalf, cm.LRHalf
	return m, nil
}

// scoreAll starts the center's service on loopback and runs one bank
// session over every enterprise the bank knows.
func scoreAll(ctx context.Context, m *models, opt score.Options) (*score.Scored, fl.Stats, error) {
	pilot, err := pki.NewPilot("center", "bank")
	if err != nil {
		return nil, fl.Stats{}, err
	}
	centerID, err := pilot.Identity("center")
	if err != nil {
		return nil, fl.Stats{}, err
	}
	bankID, err := pilot.Identity("bank")
	if err != nil {
		return nil, fl.Stats{}, err
	}
	// The service maps its table's labels to its half's levels itself
	// (Service.Prepare); the bank maps its own below.
	centerTable := selectColumns(m.centerTable, m.centerCols)
	svc := &score.Service{Table: centerTable, LR: m.lrCenter, Trees: m.treesCenter, Options: opt,
		Banks:  map[string]score.Quota{"bank": {IDs: max(len(m.bankTable.IDs), 200_000)}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := svc.Prepare(); err != nil {
		return nil, fl.Stats{}, err
	}
	srv, addr, err := link.Listen("127.0.0.1:0", svc.Handle, link.GRPCOptions{TLS: centerID.ServerTLS("bank")})
	if err != nil {
		return nil, fl.Stats{}, err
	}
	defer srv.Close()
	t, err := link.Dial(ctx, addr.String(), link.GRPCOptions{TLS: bankID.ClientTLS("center")})
	if err != nil {
		return nil, fl.Stats{}, err
	}
	defer t.Close()
	bank := selectColumns(m.bankTable, m.bankCols)
	var res *score.Scored
	if m.lrBank != nil {
		if bank, err = encodeWith(bank, func(c [][]string, x []float64, _ int) ([]float64, error) { return m.lrBank.Encode(c, x) }); err != nil {
			return nil, fl.Stats{}, err
		}
		res, err = score.RequestLR(ctx, t, bank.IDs, bank.X, m.lrBank, opt)
	} else {
		if bank, err = encodeWith(bank, m.treesBank.Encode); err != nil {
			return nil, fl.Stats{}, err
		}
		res, err = score.RequestTrees(ctx, t, bank.IDs, bank.X, bank.Cols(), m.treesBank, opt)
	}
	return res, t.Stats(), err
}

// encodeWith returns t, whose columns are a model half's, with its
// categorical columns' codes mapped to the half's levels by label (a label
// the half never saw is missing) by the half's Encode: the input of its
// scoring, as a table without dictionaries.
func encodeWith(t *dataset.Table, encode func(categories [][]string, x []float64, d int) ([]float64, error)) (*dataset.Table, error) {
	x, err := encode(t.Categories, t.X, t.Cols())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	out := *t
	out.X, out.Categories = x, nil
	return &out, nil
}

// selectColumns returns t with the given columns, in that order, and their
// dictionaries.
func selectColumns(t *dataset.Table, cols []int) *dataset.Table {
	out := &dataset.Table{Name: t.Name, IDs: t.IDs, Labels: t.Labels, X: make([]float64, t.Rows()*len(cols))}
	for k, c := range cols {
		out.Columns = append(out.Columns, t.Columns[c])
		if t.IsCategorical(c) {
			if out.Categories == nil {
				out.Categories = make([][]string, len(cols))
			}
			out.Categories[k] = t.Categories[c]
		}
	}
	d := t.Cols()
	for i := range t.Rows() {
		for j, c := range cols {
			out.X[i*len(cols)+j] = t.X[i*d+c]
		}
	}
	return out
}

// writeOutputs writes grades.csv and whitelist.csv (node.WriteGrades, as
// the node's bank does); it returns the count per grade and the number
// pre-approved.
func writeOutputs(f *flags, res *score.Scored) ([]int, int, error) {
	// No center flags here: each grade's base rate, from -rate-min for
	// grade A to -rate-max for the last approved (node.Pricing.Rates).
	pricing := node.DefaultPricing()
	pricing.MaxLine, pricing.Floor, pricing.Ceiling = f.maxLine, f.rateMin, f.rateMax
	approve := min(f.approve, len(f.grades)+1)
	pricing.Rates = make([]float64, approve)
	for k := range pricing.Rates {
		pricing.Rates[k] = f.rateMin
		if approve > 1 {
			pricing.Rates[k] += (f.rateMax - f.rateMin) * float64(k) / float64(approve-1)
		}
	}
	return node.WriteGrades(f.out, res, len(f.grades)+1, f.scores, model.Scorecard{},
		node.Whitelist{Approve: f.approve, Pricing: pricing})
}
