// Command twoparty is Veil's main job: a bank (the active party: labels and
// its own features) and a credit center (the passive party: its features)
// train a joint credit model without showing each other their data.
//
// With no flags it generates the default synthetic enterprise data (number
// and text columns at both parties), starts the bank and the credit center
// as two gRPC endpoints on loopback with mutual TLS, aligns their
// enterprises by private set intersection, trains vertical federated
// logistic regression and SecureBoost trees under two-party threshold CKKS,
// and prints test AUC/KS next to the plaintext reference trained the same
// way on the joined data, with rows aligned, time and bytes exchanged.
// Progress goes to stderr, results to stdout.
//
//	go run ./examples/twoparty
//	go run ./examples/twoparty -bank ../shared/data/default_credit_hetero_guest.csv \
//	    -center ../shared/data/default_credit_hetero_host.csv -json
//	go run ./examples/twoparty -bank bank.csv -center center.csv -label default -categorical region_code
//
// A column of text cells (a district, a legal form) is categorical; so is a
// column -categorical names, though its cells are numbers (codes). Each
// party encodes its own categorical columns by the labels of its training
// rows (at most 32 levels a column, the rarest folded into "other"): LR
// reads one 0/1 column per level, the WOE scorecard one bin per level;
// a label the training rows lack scores as a missing cell.
//
// Two-process mode runs one party per process (see README.md):
//
//	twoparty -role center -listen 127.0.0.1:7070 -center center.csv -cert center.pem -key center-key.pem -ca ca.pem
//	twoparty -role bank -peer 127.0.0.1:7070 -peer-name center -bank bank.csv -cert bank.pem -key bank-key.pem -ca ca.pem
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/boost"
	"github.com/veil-fl/veil/fl/link"
	"github.com/veil-fl/veil/fl/pki"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/fl/woe"
	"github.com/veil-fl/veil/job"
	"github.com/veil-fl/veil/model"
)

type flags struct {
	bank, center, testBank, testCenter string
	id, label                          string
	categorical                        []string
	textColumns                        bool
	models                             string
	testFrac                           float64
	seed                               int64
	rows                               int
	jsonOut                            bool
	epochs, batch                      int
	optimizer                          string
	lrate, l2, momentum                float64
	minNode, minBin                    int
	dpEpsilon, dpDelta                 float64
	reveal                             bool
	degree                             int
	bound, clip                        float64
	trees, depth, bins                 int
	eta, lambda                        float64
	role, listen, peer, peerName       string
	cert, key, ca                      string
	timeout                            time.Duration
	out                                string
	report                             string
	checkpoint                         string
	woeMethod                          string
	woeBins                            int
	minIV                              float64
	topK                               int
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("twoparty", flag.ContinueOnError)
	fs.StringVar(&f.bank, "bank", "", "bank table (id, label, features): a CSV path, a .parquet path, or postgres://USER@HOST/DB#QUERY; default: generated data")
	fs.StringVar(&f.center, "center", "", "credit-center table (id, features), in the same forms as -bank; default: generated data")
	fs.StringVar(&f.testBank, "test-bank", "", "optional separate bank test table (needs -test-center)")
	fs.StringVar(&f.testCenter, "test-center", "", "optional separate credit-center test table (needs -test-bank)")
	fs.StringVar(&f.id, "id", "id", "name of the id column")
	fs.StringVar(&f.label, "label", "y", "name of the bank's 0/1 label column")
	categorical := fs.String("categorical", "", "comma-separated feature columns (of either party) to read as categorical though their cells are numbers, e.g. codes; columns of text are categorical without it")
	fs.BoolVar(&f.textColumns, "text-columns", true, "generated data: give both parties text categorical columns (the center's industry, district, legal form and tax grade; the bank's loan product and account type); -text-columns=false for numbers only")
	fs.StringVar(&f.models, "model", "both", "models to train: lr, sbt, woe (the WOE scorecard), both (lr and sbt) or all")
	fs.Float64Var(&f.testFrac, "test-frac", 0.2, "share of aligned rows held out for testing (stratified) when no test pair is given")
	fs.Int64Var(&f.seed, "seed", 42, "seed of the split and of the generated data")
	fs.IntVar(&f.rows, "rows", 20000, "enterprises in the generated data")
	fs.BoolVar(&f.jsonOut, "json", false, "print one JSON object per model on stdout")
	fs.IntVar(&f.epochs, "epochs", 30, "LR epochs")
	fs.IntVar(&f.batch, "batch", 0, "LR mini-batch size (0: full batch)")
	fs.StringVar(&f.optimizer, "optimizer", "momentum", "LR optimizer: momentum, nesterov or sgd (the updates run on secret shares); adam with -reveal-gradients")
	fs.Float64Var(&f.lrate, "learning-rate", 0, "LR learning rate (0: the optimizer's default; for momentum and nesterov at most 0.8, lower for many columns: vlr.DefaultRate)")
	fs.Float64Var(&f.momentum, "momentum", 0, "LR momentum (0: the default, 0.8)")
	fs.BoolVar(&f.reveal, "reveal-gradients", false, "LR: decrypt each party's gradient to it every batch (faster; reveals the gradients, see package vlr)")
	fs.Float64Var(&f.l2, "l2", -1, "LR L2 penalty (negative: 1/training rows, scikit-learn's C=1)")
	fs.IntVar(&f.degree, "sigmoid-degree", 5, "degree of the sigmoid polynomial evaluated under encryption")
	fs.Float64Var(&f.bound, "sigmoid-bound", 8, "the sigmoid polynomial is fitted on [-bound, bound]")
	fs.Float64Var(&f.clip, "clip", 5, "clip standardized features to [-clip, clip] (0: no clipping)")
	fs.IntVar(&f.trees, "trees", 30, "SecureBoost trees")
	fs.IntVar(&f.depth, "depth", 3, "SecureBoost tree depth")
	fs.IntVar(&f.minNode, "min-node-rows", model.DefaultMinNodeRows, "SecureBoost: split (and release the center's histograms of) only nodes whose split children both hold at least this many rows")
	fs.IntVar(&f.minBin, "min-bin-rows", model.DefaultMinBinRows, "SecureBoost: the center merges its bins per node so that every sum it releases covers no rows or at least this many")
	fs.Float64Var(&f.dpEpsilon, "dp-epsilon", 0, "SecureBoost: make the released histograms (epsilon, -dp-delta)-differentially private for the center's values (0: off)")
	fs.Float64Var(&f.dpDelta, "dp-delta", 1e-5, "SecureBoost: the delta of -dp-epsilon")
	fs.IntVar(&f.bins, "bins", 32, "SecureBoost quantile bins per feature (at most 255)")
	fs.Float64Var(&f.eta, "eta", 0.3, "SecureBoost learning rate")
	fs.Float64Var(&f.lambda, "lambda", 1, "SecureBoost L2 penalty on leaf weights")
	fs.StringVar(&f.role, "role", "", "two-process mode: bank or center")
	fs.StringVar(&f.listen, "listen", "", "two-process mode: address to listen on")
	fs.StringVar(&f.peer, "peer", "", "two-process mode: address of the peer to dial")
	fs.StringVar(&f.peerName, "peer-name", "", "two-process mode: the peer's certificate name (when dialing)")
	fs.StringVar(&f.cert, "cert", "", "two-process mode: this party's certificate (PEM)")
	fs.StringVar(&f.key, "key", "", "two-process mode: this party's private key (PEM)")
	fs.StringVar(&f.ca, "ca", "", "two-process mode: the CA certificate both parties trust (PEM)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Hour, "deadline of the whole job")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "folder for checkpoints after every LR epoch and every tree; rerun both parties with the same flags to resume after a crash or a dropped connection")
	fs.StringVar(&f.out, "out", "", "folder for the model files: each party writes its own halves (active_lr.json, passive_lr.json, active_sbt.json, passive_sbt.json)")
	fs.StringVar(&f.report, "report", "", "folder for an HTML report with plots (index.html): ROC, KS, score distribution, lift, IV by feature, learning curves, federated next to plaintext; adds the WOE scorecard to the models")
	fs.StringVar(&f.woeMethod, "woe-method", "quantile", "WOE binning: quantile or optimal (monotone WOE, chi-square merges)")
	fs.IntVar(&f.woeBins, "woe-bins", 32, "WOE quantile bins per column (the fine bins of the optimal method)")
	fs.Float64Var(&f.minIV, "min-iv", 0, "WOE scorecard: keep the columns whose IV is at least this")
	fs.IntVar(&f.topK, "top-k", 0, "WOE scorecard: then keep the k columns of highest IV across both parties (0: all)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, name := range strings.Split(*categorical, ",") {
		switch name = strings.TrimSpace(name); name {
		case "":
		case f.id, f.label:
			return nil, fmt.Errorf("-categorical: %q is the id or label column, not a feature", name)
		default:
			f.categorical = append(f.categorical, name)
		}
	}
	switch f.models {
	case "lr", "sbt", "woe", "both", "all":
	default:
		return nil, fmt.Errorf("-model %q: want lr, sbt, woe, both or all", f.models)
	}
	if f.report != "" && f.role != "" {
		return nil, errors.New("-report needs both parties in this process (no -role): it compares with the plaintext reference")
	}
	if (f.testBank == "") != (f.testCenter == "") {
		return nil, errors.New("-test-bank and -test-center go together")
	}
	return f, nil
}

func (f *flags) modelList() []string {
	var list []string
	switch f.models {
	case "both":
		list = []string{"lr", "sbt"}
	case "all":
		list = []string{"lr", "sbt", "woe"}
	default:
		list = []string{f.models}
	}
	if f.report != "" && !slices.Contains(list, "woe") {
		list = append(list, "woe") // the report shows IVs and the scorecard
	}
	return list
}

func (f *flags) woeOptions() woe.Options {
	return woe.Options{Bins: f.woeBins, Method: f.woeMethod, Select: model.Selection{MinIV: f.minIV, TopK: f.topK}}
}

func (f *flags) lrOptions() vlr.Options {
	return vlr.Options{
		Epochs: f.epochs, BatchSize: f.batch, Seed: uint64(f.seed), Degree: f.degree, Bound: f.bound, TrackLoss: true,
		Optimizer:       model.OptimizerOptions{Name: f.optimizer, LearningRate: f.lrate, Momentum: f.momentum, L2: f.l2},
		RevealGradients: f.reveal,
		Checkpoint:      f.checkpoint,
	}
}

func (f *flags) sbtOptions() boost.Options {
	o := boost.Options{GBDTOptions: model.GBDTOptions{Trees: f.trees, MaxDepth: f.depth, Bins: f.bins, LearningRate: f.eta, Lambda: f.lambda, MinNodeRows: f.minNode, MinBinRows: f.minBin}, Checkpoint: f.checkpoint}
	if f.dpEpsilon > 0 {
		o.DP = &boost.DP{Epsilon: f.dpEpsilon, Delta: f.dpDelta}
	}
	return o
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "twoparty:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args)
	if err != nil {
		return err
	}
	check := f.lrOptions()
	check.Optimizer.L2 = max(check.Optimizer.L2, 0)
	if _, err := check.WithDefaults(); err != nil {
		return err
	}
	if _, err := f.sbtOptions().GBDTOptions.WithDefaults(); err != nil {
		return err
	}
	if _, err := f.woeOptions().WithDefaults(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if f.role != "" {
		return runOneParty(ctx, f, log, stdout, stderr)
	}
	return runBoth(ctx, f, log, stdout, stderr)
}

// loadTables reads the bank's and the center's tables (training and optional
// test pairs), or generates the default synthetic pair. Every input problem
// is reported here, before any key is generated.
func loadTables(f *flags, needBank, needCenter bool) (bank, center, testBank, testCenter *dataset.Table, err error) {
	if f.bank == "" && f.center == "" {
		b, c, err := dataset.Synthesize(dataset.SynthOptions{Rows: f.rows, Seed: f.seed, Categorical: f.textColumns})
		return b, c, nil, nil, err
	}
	bankOpt := dataset.TableOptions{IDColumn: f.id, LabelColumn: f.label}
	centerOpt := dataset.TableOptions{IDColumn: f.id}
	read := func(path string, opt dataset.TableOptions, need bool, what string) (*dataset.Table, error) {
		if !need {
			return nil, nil
		}
		if path == "" {
			return nil, fmt.Errorf("no %s file: give -bank and -center together", what)
		}
		t, err := dataset.Load(context.Background(), path, opt)
		if err != nil {
			return nil, err
		}
		// -categorical names the columns of both parties: each table is
		// read again with those it holds declared, their cells labels.
		for _, name := range f.categorical {
			if _, ok := t.ColumnIndex(name); ok {
				opt.Categorical = append(opt.Categorical, name)
			}
		}
		if opt.Categorical == nil {
			return t, nil
		}
		return dataset.Load(context.Background(), path, opt)
	}
	defer func() {
		if err == nil && needBank && needCenter {
			err = checkDeclared(f.categorical, bank, center)
		}
	}()
	if bank, err = read(f.bank, bankOpt, needBank, "bank"); err != nil {
		return
	}
	if center, err = read(f.center, centerOpt, needCenter, "credit-center"); err != nil {
		return
	}
	if f.testBank != "" {
		if testBank, err = read(f.testBank, bankOpt, needBank, "bank test"); err != nil {
			return
		}
		if testCenter, err = read(f.testCenter, centerOpt, needCenter, "credit-center test"); err != nil {
			return
		}
	}
	return
}

// checkDeclared refuses a -categorical name that is a feature column of
// neither table (a typo would otherwise go unnoticed).
func checkDeclared(names []string, bank, center *dataset.Table) error {
	for _, name := range names {
		_, inBank := bank.ColumnIndex(name)
		_, inCenter := center.ColumnIndex(name)
		if !inBank && !inCenter {
			return fmt.Errorf("-categorical: no feature column %q in %s or %s", name, bank.Name, center.Name)
		}
	}
	return nil
}

// runBoth runs both parties in this process, as two gRPC endpoints on
// loopback with mutual TLS.
func runBoth(ctx context.Context, f *flags, log *slog.Logger, stdout, stderr io.Writer) error {
	start := time.Now()
	bankT, centerT, testB, testC, err := loadTables(f, true, true)
	if err != nil {
		return err
	}
	// A pilot PKI that lives as long as this run: both parties' identities.
	pilot, err := pki.NewPilot("bank", "center")
	if err != nil {
		return err
	}
	bankID, err := pilot.Identity("bank")
	if err != nil {
		return err
	}
	centerID, err := pilot.Identity("center")
	if err != nil {
		return err
	}
	prog := newProgress(stderr, log.With("party", "bank"))
	bankSpec := f.spec(bankT, testB, log.With("party", "bank"), prog)
	centerSpec := f.spec(centerT, testC, log.With("party", "center"), nil)
	if prog.tty {
		// The bank's progress bars tell the story; the center's info
		// lines would only break them.
		centerSpec.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("party", "center")
	}
	type outcome struct {
		r   *job.Result
		err error
	}
	centerDone := make(chan outcome, 1)
	srv, addr, err := link.Listen("127.0.0.1:0", func(ctx context.Context, t fl.Transport) error {
		r, err := job.RunPassive(ctx, t, centerSpec)
		centerDone <- outcome{r, err}
		return err
	}, link.GRPCOptions{TLS: centerID.ServerTLS("bank")})
	if err != nil {
		return err
	}
	defer srv.Close()
	t, err := link.Dial(ctx, addr.String(), link.GRPCOptions{TLS: bankID.ClientTLS("center")})
	if err != nil {
		return err
	}
	defer t.Close()
	bankOut, err := job.RunActive(ctx, t, bankSpec)
	if err != nil {
		return err
	}
	c := <-centerDone
	if c.err != nil {
		return c.err
	}
	// This process holds both parties' data, so it can train the plaintext
	// twin on the joined columns: the same algorithm on the same rows.
	res := results(bankOut)
	plains := make([]*job.Twin, len(res))
	for i := range res {
		tw, err := job.PlainTwin(job.Kind(res[i].Model), bankOut, c.r, bankSpec)
		if err != nil {
			return err
		}
		res[i].PlainAUC, res[i].PlainKS, plains[i] = &tw.AUC, &tw.KS, tw
	}
	elapsed := time.Since(start)
	if f.report != "" {
		path, err := writeReport(f.report, dataName(f), res, plains, bankOut.Data.YTest, elapsed, t.Stats())
		if err != nil {
			return err
		}
		log.Info("report written", "path", path)
	}
	return report(stdout, f, res, elapsed, t.Stats())
}

func dataName(f *flags) string {
	if f.bank != "" {
		return f.bank + " + " + f.center
	}
	return fmt.Sprintf("%d generated synthetic enterprises (seed %d)", f.rows, f.seed)
}

// runOneParty runs this process's party against a peer process.
func runOneParty(ctx context.Context, f *flags, log *slog.Logger, stdout, stderr io.Writer) error {
	start := time.Now()
	var role fl.Role
	switch f.role {
	case "bank":
		role = fl.RoleActive
	case "center":
		role = fl.RolePassive
	default:
		return fmt.Errorf("-role %q: want bank or center", f.role)
	}
	if (f.listen == "") == (f.peer == "") {
		return errors.New("two-process mode needs exactly one of -listen and -peer")
	}
	if f.cert == "" || f.key == "" || f.ca == "" {
		return errors.New("two-process mode needs -cert, -key and -ca")
	}
	bankT, centerT, testB, testC, err := loadTables(f, role == fl.RoleActive, role == fl.RolePassive)
	if err != nil {
		return err
	}
	train, test := bankT, testB
	if role == fl.RolePassive {
		train, test = centerT, testC
	}
	id, err := fl.LoadTLS(f.cert, f.key, f.ca)
	if err != nil {
		return err
	}
	var prog *progress
	if role == fl.RoleActive {
		prog = newProgress(stderr, log)
	}
	spec := f.spec(train, test, log, prog)
	var t fl.Transport
	if f.listen != "" {
		lis, err := listenTCP(f.listen)
		if err != nil {
			return err
		}
		log.Info("waiting for the peer", "listen", lis.Addr().String())
		if t, err = link.Accept(ctx, lis, link.GRPCOptions{TLS: id.ServerTLS()}); err != nil {
			return err
		}
	} else {
		if f.peerName == "" {
			return errors.New("-peer needs -peer-name, the name on the peer's certificate")
		}
		if t, err = link.DialRetry(ctx, f.peer, link.GRPCOptions{TLS: id.ClientTLS(f.peerName)}, link.Backoff{}); err != nil {
			return err
		}
	}
	defer t.Close()
	if role == fl.RolePassive {
		if _, err := job.RunPassive(ctx, t, spec); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "credit center: trained with the bank; sent %d bytes, received %d bytes\n", t.Stats().SentBytes, t.Stats().RecvBytes)
		return nil
	}
	out, err := job.RunActive(ctx, t, spec)
	if err != nil {
		return err
	}
	return report(stdout, f, results(out), time.Since(start), t.Stats())
}

func report(w io.Writer, f *flags, results []modelResult, elapsed time.Duration, st fl.Stats) error {
	if f.jsonOut {
		enc := json.NewEncoder(w)
		for _, r := range results {
			if math.IsNaN(r.AUC) {
				r.AUC, r.KS = 0, 0
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(w, "Veil two-party credit model (%s)\n", dataName(f))
	fmt.Fprintf(w, "total time %.1f s; bank sent %.1f MiB, received %.1f MiB\n\n", elapsed.Seconds(), float64(st.SentBytes)/(1<<20), float64(st.RecvBytes)/(1<<20))
	for _, r := range results {
		fmt.Fprintf(w, "model %s\n", strings.ToUpper(r.Model))
		if r.Note != "" {
			fmt.Fprintf(w, "  %s\n\n", r.Note)
			continue
		}
		fmt.Fprintf(w, "  rows aligned by PSI   %d (test rows %d)\n", r.RowsAligned, r.TestRows)
		fmt.Fprintf(w, "  federated   test AUC %.4f  KS %.4f\n", r.AUC, r.KS)
		if r.PlainAUC != nil {
			fmt.Fprintf(w, "  plaintext   test AUC %.4f  KS %.4f  (same algorithm on the joined data)\n", *r.PlainAUC, *r.PlainKS)
		}
		if r.Model == "woe" {
			fmt.Fprintf(w, "  WOE/IV      %.1f s federated; %s\n", r.woeSeconds, keptSummary(r.features))
			fmt.Fprintf(w, "  training    %.1f s (WOE/IV and LR on WOE columns, %d epochs), %.1f MiB exchanged\n", r.TrainSeconds, r.Epochs, float64(r.BytesSent)/(1<<20))
		} else if r.Model == "lr" {
			fmt.Fprintf(w, "  training    %.1f s, %d epochs, %.1f MiB exchanged\n", r.TrainSeconds, r.Epochs, float64(r.BytesSent)/(1<<20))
		} else {
			fmt.Fprintf(w, "  training    %.1f s, %d trees, %.1f MiB exchanged\n", r.TrainSeconds, r.Trees, float64(r.BytesSent)/(1<<20))
		}
		if len(r.Loss) > 0 {
			fmt.Fprintf(w, "  loss        %.4f -> %.4f (the polynomial surrogate of log-loss; learned by the bank only)\n", r.Loss[0], r.Loss[len(r.Loss)-1])
		}
		fmt.Fprintln(w)
	}
	lrWhat := "LR (secret-shared weights): each party, its own final weights and nothing of\n" +
		"the training's gradients, residuals or partial scores; the bank, the training loss and\n" +
		"the center's partial scores of the test rows (federated prediction)."
	if f.reveal {
		lrWhat = "LR (-reveal-gradients): each party, its own gradient every batch; the bank, the\n" +
			"training loss and the center's partial scores of the test rows (federated prediction)."
	}
	fmt.Fprintln(w, "What each party learned. "+lrWhat)
	fmt.Fprintln(w, "Trees: the bank, the center's gradient sums at the bins it released (none over a handful of rows) and its split decisions;")
	fmt.Fprintln(w, "the center, the row partition of each node. Neither saw the other's feature values;")
	fmt.Fprintln(w, "the center never saw a label, gradient or leaf weight.")
	for _, r := range results {
		if r.Model == "woe" {
			fmt.Fprintln(w, "WOE scorecard: the bank, the event and non-event counts of the center's quantile bins, or of")
			fmt.Fprintln(w, "each category of a categorical column (hence their WOE and IV), and the center's partial")
			fmt.Fprintln(w, "points of the test rows; the center, which of its")
			fmt.Fprintln(w, "columns stay, their merged bins and an affinely masked WOE, and its own bins' points.")
		}
	}
	return nil
}
