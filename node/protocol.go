package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/veil-fl/veil/fl"
)

// Message types of a node session, exchanged before the job or the scoring
// it opens (which run their own handshake over the same transport).
const (
	// TypeRequest (bank to center, JSON): what the session is for.
	TypeRequest = "node.request"
	// TypeReply (center to bank, JSON): the grant, or why not.
	TypeReply = "node.reply"
	// TypeStored (center to bank, JSON, after a training): the version the
	// center stored its half under.
	TypeStored = "node.stored"
)

// requestVersion is the version of the request and reply; a center
// refuses any other.
const requestVersion = 1

// Session kinds of a request.
const (
	KindTrain = "train"
	KindScore = "score"
)

// Outputs a scoring request may ask for.
const (
	OutputBands   = "bands"
	OutputApprove = "approve"
	OutputScores  = "scores"
)

// ErrRefused is what a request outside the center's policy fails with, at
// the bank (and in the center's log); the error names the rule, a config
// key such as banks.bank-b.models.
var ErrRefused = errors.New("center refused")

// ErrBusy is what a request over one of the center's limits fails with;
// the error names the limit. Nothing running is disturbed: retry later.
var ErrBusy = errors.New("center busy")

// ErrMismatch is returned when the bank's and the center's halves of a
// model are not of the same training.
var ErrMismatch = errors.New("node: the halves are of different trainings")

// request is what a bank asks for. Every field is checked by the center
// against its policy (validate for the shape).
type request struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"`  // KindTrain or KindScore
	Table   string `json:"table"` // train: the center's table
	Model   string `json:"model"` // the model kind: lr, sbt or woe
	// Name is the model's name; ModelVersion (score) the version of the
	// bank's half and Training its training id.
	Name         string `json:"name"`
	ModelVersion int    `json:"model_version,omitempty"`
	Training     string `json:"training,omitempty"`
	Output       string `json:"output,omitempty"` // score
	// ConfigDigest is the hex SHA-256 of the bank's job config (train),
	// recorded beside the center's half.
	ConfigDigest string `json:"config_digest,omitempty"`
	// Rows is how many ids the bank's table holds (its test table's
	// counted too), checked against the rows per session.
	Rows         int  `json:"rows"`
	SeparateTest bool `json:"separate_test,omitempty"`
	// Approve is, for the approve output, how many of the center's grades
	// are approved: the one cut is the boundary below grade Approve+1.
	// With Flags it is also sent for band output: the whitelist's grades,
	// whose enterprises' flags are released.
	Approve int `json:"approve,omitempty"`
	// Flags are the center's flags asked for (score.yaml flags:),
	// released for the whitelisted enterprises only (fl/score Disclose).
	Flags []string `json:"flags,omitempty"`
}

// reply is the center's answer. A refusal has Code "refused" or "busy",
// the Rule (a config key) and the Reason.
type reply struct {
	Version int    `json:"version"`
	Granted bool   `json:"granted"`
	Code    string `json:"code,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Columns is, for a training, how many of the table's columns the
	// center trains with (its policy's columns for this bank).
	Columns int `json:"columns,omitempty"`
	// Grades are, for a scoring, the center's probability-of-default cut
	// points of the run (one for the approve output), which the bank's
	// run must use.
	Grades []float64 `json:"grades,omitempty"`
	// BatchRows is the scoring's batch size (0: fl/score's default).
	BatchRows int `json:"batch_rows,omitempty"`
}

// stored is the center's word after a training: the version its half was
// stored under, and the training id.
type stored struct {
	Version  int    `json:"version"`
	Training string `json:"training"`
}

const (
	codeRefused  = "refused"
	codeBusy     = "busy"
	codeMismatch = "mismatch"
)

// maxGrades bounds the cut points of a scoring: grades A to Z.
const maxGrades = 25

// maxRequestBytes bounds the request and reply messages.
const maxRequestBytes = 1 << 14

// nameRE is a model or table name: it becomes a registry folder.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// trainingRE is a training id (job.TrainingID: 32 hex digits).
var trainingRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// validate checks a request's shape: what a center may act on before its
// policy is consulted.
func (r *request) validate() error {
	if r.Version != requestVersion {
		return fmt.Errorf("%w: %s version %d, this center speaks %d", fl.ErrMalformed, TypeRequest, r.Version, requestVersion)
	}
	if r.Rows < 0 {
		return fmt.Errorf("%w: %s: %d rows", fl.ErrMalformed, TypeRequest, r.Rows)
	}
	if !nameRE.MatchString(r.Name) {
		return fmt.Errorf("%w: %s: model name %q: want letters, digits, '.', '_' or '-'", fl.ErrMalformed, TypeRequest, r.Name)
	}
	switch r.Model {
	case "lr", "sbt", "woe":
	default:
		return fmt.Errorf("%w: %s: model kind %q, want lr, sbt or woe", fl.ErrMalformed, TypeRequest, r.Model)
	}
	switch r.Kind {
	case KindTrain:
		if !nameRE.MatchString(r.Table) {
			return fmt.Errorf("%w: %s: table %q", fl.ErrMalformed, TypeRequest, r.Table)
		}
		if r.ModelVersion != 0 || r.Training != "" || r.Output != "" {
			return fmt.Errorf("%w: %s: a training request names no version, training or output", fl.ErrMalformed, TypeRequest)
		}
	case KindScore:
		if r.ModelVersion < 1 || !trainingRE.MatchString(r.Training) {
			return fmt.Errorf("%w: %s: a scoring request names the model's version and training id", fl.ErrMalformed, TypeRequest)
		}
		switch r.Output {
		case OutputApprove:
			if r.Approve < 1 || r.Approve > maxGrades {
				return fmt.Errorf("%w: %s: approve %d grades", fl.ErrMalformed, TypeRequest, r.Approve)
			}
		case OutputBands, OutputScores:
		default:
			return fmt.Errorf("%w: %s: output %q, want bands, approve or scores", fl.ErrMalformed, TypeRequest, r.Output)
		}
	default:
		return fmt.Errorf("%w: %s: kind %q, want train or score", fl.ErrMalformed, TypeRequest, r.Kind)
	}
	return nil
}

// decodeRequest decodes and validates a request's payload.
func decodeRequest(b []byte) (*request, error) {
	if len(b) > maxRequestBytes {
		return nil, fmt.Errorf("%w: %s of %d bytes", fl.ErrMalformed, TypeRequest, len(b))
	}
	var r request
	if err := strictJSON(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fl.ErrMalformed, TypeRequest, err)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeReply decodes a reply's payload into the bank's error: nil for a
// grant, one matching ErrRefused or ErrBusy otherwise.
func decodeReply(b []byte) (*reply, error) {
	if len(b) > maxRequestBytes {
		return nil, fmt.Errorf("%w: %s of %d bytes", fl.ErrMalformed, TypeReply, len(b))
	}
	var r reply
	if err := strictJSON(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fl.ErrMalformed, TypeReply, err)
	}
	if r.Version != requestVersion {
		return nil, fmt.Errorf("%w: %s version %d, this bank speaks %d", fl.ErrMalformed, TypeReply, r.Version, requestVersion)
	}
	if r.Columns < 0 || r.BatchRows < 0 || len(r.Grades) > maxGrades {
		return nil, fmt.Errorf("%w: %s: %d columns, %d grades, batches of %d", fl.ErrMalformed, TypeReply, r.Columns, len(r.Grades), r.BatchRows)
	}
	for i, p := range r.Grades {
		if !(p > 0 && p < 1) || (i > 0 && p <= r.Grades[i-1]) {
			return nil, fmt.Errorf("%w: %s: grades %v, want ascending probabilities in (0, 1)", fl.ErrMalformed, TypeReply, r.Grades)
		}
	}
	if r.Granted {
		if r.Code != "" {
			return nil, fmt.Errorf("%w: %s: a grant with code %q", fl.ErrMalformed, TypeReply, r.Code)
		}
		return &r, nil
	}
	switch r.Code {
	case codeRefused, codeBusy, codeMismatch:
		return &r, &PolicyError{Code: r.Code, Rule: r.Rule, Reason: r.Reason}
	}
	return nil, fmt.Errorf("%w: %s: neither a grant nor a refusal (code %q)", fl.ErrMalformed, TypeReply, r.Code)
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// PolicyError is a refusal by the center: Rule is the config key that
// refuses with its value ("banks.bank-b.models: [lr]", "limits.trainings"),
// Reason says why. It matches ErrRefused (Code "refused": outside the
// policy), ErrBusy ("busy": a limit; retry later) or ErrMismatch
// ("mismatch": the center's half is not of the bank's training).
type PolicyError struct {
	Code, Rule, Reason string
}

func (e *PolicyError) Error() string {
	switch e.Code {
	case codeBusy:
		return fmt.Sprintf("%v: %s (%s)", ErrBusy, e.Reason, e.Rule)
	case codeMismatch:
		return fmt.Sprintf("%v: %s", ErrMismatch, e.Reason)
	}
	return fmt.Sprintf("%v: %s (%s)", ErrRefused, e.Reason, e.Rule)
}

func (e *PolicyError) Unwrap() error {
	switch e.Code {
	case codeBusy:
		return ErrBusy
	case codeMismatch:
		return ErrMismatch
	}
	return ErrRefused
}

func refused(rule, format string, a ...any) *PolicyError {
	return &PolicyError{Code: codeRefused, Rule: rule, Reason: fmt.Sprintf(format, a...)}
}

func busy(rule, format string, a ...any) *PolicyError {
	return &PolicyError{Code: codeBusy, Rule: rule, Reason: fmt.Sprintf(format, a...)}
}

// sendReply sends the center's answer: the grant g, or the refusal perr.
func sendReply(ctx context.Context, t fl.Transport, perr *PolicyError, g reply) error {
	r := reply{Version: requestVersion, Granted: perr == nil}
	if perr == nil {
		r.Columns, r.Grades, r.BatchRows = g.Columns, g.Grades, g.BatchRows
	} else {
		r.Code, r.Rule, r.Reason = perr.Code, perr.Rule, perr.Reason
	}
	return fl.SendJSON(ctx, t, TypeReply, r)
}
