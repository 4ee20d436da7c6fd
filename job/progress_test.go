package job_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/veil-fl/veil/dataset"
	"github.com/veil-fl/veil/fl"
	"github.com/veil-fl/veil/fl/align"
	"github.com/veil-fl/veil/fl/fltest"
	"github.com/veil-fl/veil/fl/joint"
	"github.com/veil-fl/veil/fl/vlr"
	"github.com/veil-fl/veil/job"
)

// A job's Progress follows the alignment phase by phase (a step per
// table, Done rising to align.Phases, then its end), and its Logger gets
// the alignment's start and end naming no id. The job is cut off once the
// last alignment ends: what follows is the models' steps.
func TestJobAlignmentProgress(t *testing.T) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 4})
	require.NoError(t, err)
	for _, separateTest := range []bool{false, true} {
		steps := []string{"aligning ids by PSI"}
		bank, center := job.Spec{Train: bankT}, job.Spec{Train: centerT}
		if separateTest {
			steps = append(steps, "aligning test ids by PSI")
			bank.Test, center.Test = bankT, centerT
		}
		t.Run(steps[len(steps)-1], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), fltest.Deadline(2*time.Minute))
			defer cancel()
			var mu sync.Mutex
			var events []job.Event
			cut := false
			bank.Progress = func(e job.Event) {
				mu.Lock()
				defer mu.Unlock()
				if cut { // a local step may start before the job sees ctx end
					return
				}
				events = append(events, e)
				if e.End && e.Step == steps[len(steps)-1] {
					cut = true
					cancel()
				}
			}
			var logs bytes.Buffer
			bank.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			a, b := fl.NewPipe()
			defer a.Close()
			defer b.Close()
			done := make(chan error, 1)
			go func() {
				_, err := job.RunPassive(ctx, b, center)
				done <- err
			}()
			_, err := job.RunActive(ctx, a, bank)
			require.ErrorIs(t, err, context.Canceled, "cut off after the alignment")
			require.Error(t, <-done)

			mu.Lock()
			defer mu.Unlock()
			var seen []string
			for i, e := range events {
				require.Equal(t, align.Phases, e.Total, "%+v", e)
				if i == 0 || events[i-1].End {
					require.Zero(t, e.Done, "%+v", e)
					require.False(t, e.End)
					seen = append(seen, e.Step)
					continue
				}
				require.Equal(t, events[i-1].Step, e.Step, "one step at a time")
				require.GreaterOrEqual(t, e.Done, events[i-1].Done, "%+v after %+v", e, events[i-1])
				if e.End {
					require.Equal(t, align.Phases, events[i-1].Done, "the last phase is reported before the end")
				}
			}
			require.Equal(t, steps, seen)
			require.True(t, events[len(events)-1].End)

			text := logs.String()
			require.Equal(t, len(steps), bytes.Count(logs.Bytes(), []byte(`"msg":"align: start"`)), text)
			require.Equal(t, len(steps), bytes.Count(logs.Bytes(), []byte(`"msg":"align: done"`)), text)
			for _, ids := range [][]string{bankT.IDs, centerT.IDs} {
				for _, id := range ids {
					require.NotContains(t, text, id)
				}
			}
		})
	}
}

// A job's Progress shows each training's key generation as a step of its
// own at both parties, stage by stage (joint.KeyStages), between the
// bank's setup and its epochs; steps run one at a time, each ending
// before the next starts.
func TestJobKeyGenerationProgress(t *testing.T) {
	bankT, centerT, err := dataset.Synthesize(dataset.SynthOptions{Rows: 300, Seed: 4})
	require.NoError(t, err)
	var mu sync.Mutex
	events := map[string][]job.Event{}
	record := func(party string) func(job.Event) {
		return func(e job.Event) {
			mu.Lock()
			defer mu.Unlock()
			events[party] = append(events[party], e)
		}
	}
	bank := job.Spec{Train: bankT, LR: vlr.Options{Epochs: 2}, Progress: record("bank")}
	center := job.Spec{Train: centerT, Progress: record("center")}
	_, _, errB, errC := runPair(t, bank, center)
	require.NoError(t, errB)
	require.NoError(t, errC)

	for party, want := range map[string][]string{
		"bank":   {"aligning ids by PSI", "LR: setup", "LR: key generation", "LR: epochs", "LR: federated scoring of the test rows"},
		"center": {"aligning ids by PSI", "LR: key generation"},
	} {
		var seen []string
		var keys []int
		for i, e := range events[party] {
			if i == 0 || events[party][i-1].End {
				require.False(t, e.End, "%s: %+v", party, e)
				seen = append(seen, e.Step)
			} else {
				require.Equal(t, events[party][i-1].Step, e.Step, "%s: one step at a time", party)
			}
			if e.Step == "LR: key generation" && !e.End {
				require.Equal(t, joint.KeyStages, e.Total, "%s: %+v", party, e)
				keys = append(keys, e.Done)
			}
		}
		require.Equal(t, want, seen, party)
		require.True(t, events[party][len(events[party])-1].End, party)
		// The step's start, then each stage from 0 to the last.
		require.Equal(t, []int{0, 0, 1, 2, joint.KeyStages}, keys, party)
	}
}
