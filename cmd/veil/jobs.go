package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/veil-fl/veil/node"
	"github.com/veil-fl/veil/node/config"
)

// cmdTrain runs a bank's training job with the center.
func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	path := fs.String("config", "", "the job's config file (job.yaml; see package node/config)")
	asJSON := fs.Bool("json", false, "print the result as one JSON line")
	lv := logLevel(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := need(map[string]string{"config": *path}); err != nil {
		return err
	}
	cfg, err := config.LoadJob(*path)
	if err != nil {
		return err
	}
	res, err := node.Train(ctx, cfg, newLogger(stderr, lv))
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s %s v%d: test AUC %.4f, KS %.4f; %d rows aligned; trained in %.1f s; %d bytes sent, %d received\n",
		res.Model, res.Name, res.Version, res.AUC, res.KS, res.RowsAligned, res.TrainSeconds, res.BytesSent, res.BytesReceived)
	return nil
}

// cmdScore scores a bank's enterprises with a registered model.
func cmdScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("score", stderr)
	path := fs.String("config", "", "the scoring's config file (score.yaml; see package node/config)")
	asJSON := fs.Bool("json", false, "print the result as one JSON line")
	lv := logLevel(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := need(map[string]string{"config": *path}); err != nil {
		return err
	}
	cfg, err := config.LoadScore(*path)
	if err != nil {
		return err
	}
	res, err := node.Score(ctx, cfg, newLogger(stderr, lv))
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s v%d (%s): %d of %d enterprises scored, %d whitelisted; wrote %s\n",
		res.Model, res.Version, res.Output, res.Scored, res.Rows, res.Whitelisted, res.Out)
	return nil
}
