package node

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/score"
	"github.com/veil-fl/veil/model"
)

func TestDecodeRequest(t *testing.T) {
	ok := `{"version":1,"kind":"train","table":"enterprises","model":"lr","name":"sme-credit","rows":10}`
	okScore := `{"version":1,"kind":"score","model":"sbt","name":"m","model_version":3,"training":"00112233445566778899aabbccddeeff","output":"approve","approve":2,"rows":10}`
	for _, tc := range []struct {
		name, in, err string
	}{
		{"train", ok, ""},
		{"score", okScore, ""},
		{"version", strings.Replace(ok, `"version":1`, `"version":2`, 1), "version 2"},
		{"unknown field", strings.Replace(ok, `"rows":10`, `"rows":10,"admin":true`, 1), "unknown field"},
		{"trailing", ok + `{}`, "trailing"},
		{"not json", `{"version":`, "node.request"},
		{"negative rows", strings.Replace(ok, `"rows":10`, `"rows":-1`, 1), "-1 rows"},
		{"path in name", strings.Replace(ok, `"sme-credit"`, `"../x"`, 1), "model name"},
		{"kind", strings.Replace(ok, `"train"`, `"delete"`, 1), `kind "delete"`},
		{"model", strings.Replace(ok, `"lr"`, `"nn"`, 1), `model kind "nn"`},
		{"table", strings.Replace(ok, `"enterprises"`, `""`, 1), "table"},
		{"training with output", strings.Replace(ok, `"rows":10`, `"rows":10,"output":"scores"`, 1), "names no version"},
		{"score without training", strings.Replace(okScore, `"00112233445566778899aabbccddeeff"`, `"x"`, 1), "version and training"},
		{"score version 0", strings.Replace(okScore, `"model_version":3`, `"model_version":0`, 1), "version and training"},
		{"output", strings.Replace(okScore, `"approve","approve":2`, `"logits"`, 1), `output "logits"`},
		{"approve 0", strings.Replace(okScore, `"approve":2`, `"approve":0`, 1), "approve 0"},
		{"too large", `{"version":1,"name":"` + strings.Repeat("a", maxRequestBytes) + `"}`, "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeRequest([]byte(tc.in))
			if tc.err == "" {
				require.NoError(t, err)
				require.NotNil(t, r)
				return
			}
			require.ErrorIs(t, err, fl.ErrMalformed)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestDecodeReply(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		is       error
		err      string
	}{
		{"grant", `{"version":1,"granted":true,"columns":3}`, nil, ""},
		{"grant with grades", `{"version":1,"granted":true,"grades":[0.02,0.1]}`, nil, ""},
		{"refused", `{"version":1,"granted":false,"code":"refused","rule":"banks.b.models: [lr]","reason":"b may not train sbt"}`, ErrRefused, "center refused: b may not train sbt (banks.b.models: [lr])"},
		{"busy", `{"version":1,"code":"busy","rule":"limits.trainings","reason":"2 trainings running"}`, ErrBusy, "center busy: 2 trainings running (limits.trainings)"},
		{"mismatch", `{"version":1,"code":"mismatch","rule":"registry","reason":"other training"}`, ErrMismatch, "other training"},
		{"no code", `{"version":1}`, fl.ErrMalformed, "neither"},
		{"grant with code", `{"version":1,"granted":true,"code":"busy"}`, fl.ErrMalformed, "a grant with code"},
		{"version", `{"version":0,"granted":true}`, fl.ErrMalformed, "version 0"},
		{"grades descending", `{"version":1,"granted":true,"grades":[0.2,0.1]}`, fl.ErrMalformed, "ascending"},
		{"grade 1", `{"version":1,"granted":true,"grades":[1]}`, fl.ErrMalformed, "ascending"},
		{"negative columns", `{"version":1,"granted":true,"columns":-1}`, fl.ErrMalformed, "-1 columns"},
		{"unknown field", `{"version":1,"granted":true,"x":1}`, fl.ErrMalformed, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeReply([]byte(tc.in))
			if tc.is == nil {
				require.NoError(t, err)
				require.True(t, r.Granted)
				return
			}
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.err)
			for _, other := range []error{ErrRefused, ErrBusy, ErrMismatch, fl.ErrMalformed} {
				if other != tc.is {
					require.False(t, errors.Is(err, other), "%v also matches %v", err, other)
				}
			}
		})
	}
}

// FuzzDecodeRequest: no input panics; an accepted request is valid and
// survives a round trip.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"version":1,"kind":"train","table":"enterprises","model":"lr","name":"sme-credit","rows":10}`))
	f.Add([]byte(`{"version":1,"kind":"score","model":"sbt","name":"m","model_version":3,"training":"00112233445566778899aabbccddeeff","output":"bands","rows":10}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b)
		if err != nil {
			return
		}
		require.NoError(t, r.validate())
		again, err := json.Marshal(r)
		require.NoError(t, err)
		r2, err := decodeRequest(again)
		require.NoError(t, err)
		require.Equal(t, r, r2)
	})
}

// FuzzDecodeReply: no input panics; a reply is a grant, a PolicyError, or
// malformed.
func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"version":1,"granted":true,"columns":3,"grades":[0.02,0.1]}`))
	f.Add([]byte(`{"version":1,"code":"busy","rule":"limits.trainings","reason":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReply(b)
		var perr *PolicyError
		switch {
		case err == nil:
			require.True(t, r.Granted)
		case errors.As(err, &perr):
			require.NotNil(t, r)
		default:
			require.ErrorIs(t, err, fl.ErrMalformed)
		}
	})
}

func TestWriteGrades(t *testing.T) {
	res := &score.Scored{IDs: []string{"e1", "e2", "e3", "e4"}, Result: &score.Result{Bands: []int{0, 1, 2, 1}, Logits: []float64{-4, -2, 0, -2.5}}}
	wl := Whitelist{Approve: 2, Pricing: DefaultPricing()}
	for _, tc := range []struct {
		name     string
		scores   bool
		grades   []string
		whitelst []string
	}{
		{"bands", false, []string{"id,grade", "e1,A", "e2,B", "e3,C", "e4,B"},
			[]string{"id,grade,credit_line_yuan,annual_rate_percent,coupon_discount_points,category_discount_points,flags",
				"e1,A,3000000,4.20,0.00,0.00,", "e2,B,1500000,4.20,0.00,0.00,", "e4,B,1500000,4.20,0.00,0.00,"}},
		{"scores", true, []string{"id,grade,probability_of_default,points", "e1,A,0.017986,", "e2,B,0.119203,", "e3,C,0.500000,", "e4,B,0.075858,"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			counts, approved, err := WriteGrades(dir, res, 3, tc.scores, model.Scorecard{}, wl)
			require.NoError(t, err)
			require.Equal(t, []int{1, 2, 1}, counts)
			require.Equal(t, 3, approved)
			g, err := os.ReadFile(filepath.Join(dir, "grades.csv"))
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSpace(string(g)), "\n")
			require.Len(t, lines, len(tc.grades))
			for i, want := range tc.grades {
				require.True(t, strings.HasPrefix(lines[i], want), "line %d: %q, want prefix %q", i, lines[i], want)
			}
			if tc.whitelst != nil {
				w, err := os.ReadFile(filepath.Join(dir, "whitelist.csv"))
				require.NoError(t, err)
				require.Equal(t, strings.Join(tc.whitelst, "\n")+"\n", string(w))
			}
		})
	}
	_, _, err := WriteGrades(t.TempDir(), res, 2, false, model.Scorecard{}, wl)
	require.ErrorContains(t, err, "grade 2 of 2")
	_, _, err = WriteGrades(t.TempDir(), res, 3, false, model.Scorecard{}, Whitelist{Approve: 4, Pricing: DefaultPricing()})
	require.ErrorContains(t, err, "approve 4")
}
