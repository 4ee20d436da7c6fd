// Package config reads the YAML files of a Veil node: the credit center's
// center.yaml (LoadCenter) and a bank's job.yaml (LoadJob) and score.yaml
// (LoadScore).
//
// Files are decoded strictly: an unknown key, a key given twice, a value of
// the wrong type, a missing required key, an anchor or alias, or a value
// out of range is an *Error naming the file, the line (and column) and the
// dotted key, e.g.
//
//	center.yaml:12:26: banks.bank-b.modles: unknown key
//	job.yaml:3:1: data.label: missing required key (the 0/1 label column)
//
// A missing key is reported at its parent's line. Durations are written as
// "30s", "10m" or "1h". Relative paths resolve against the config file's
// folder. A key with no value ("test:") is as if absent. Nothing is read
// beyond the config file itself until the caller asks (Table.Load,
// Center.LoadTables, the GRPCOptions methods, which read the PEM files).
//
// What each party receives is not decided here: the center's policy
// (banks:) is what package node enforces, and a bank's job or scoring
// config is what it asks for.
//
// # center.yaml
//
//	listen: 127.0.0.1:7070         # required: address to serve on
//	cert: center.pem               # required: the center's certificate,
//	key: center-key.pem            # required:   its private key,
//	ca: ca.pem                     # required:   and the CA banks are checked against
//	registry: center-models/       # required: the center's model registry (package registry)
//	audit: audit.jsonl             # the center's audit log (package node/audit; default none)
//	metrics: 127.0.0.1:9464        # Prometheus metrics listener, host:port (package node/metrics; default none)
//	psi_store: psi/                # the PSI store: each table's ids encoded per bank and key epoch
//	                               # (psi.CenterStore, a subfolder a table; holds the keys: the center's
//	                               # alone; default psi beside the registry)
//	tables:                        # required: the center's tables, by name
//	  enterprises:
//	    source: center.csv         # required: a CSV path, a .parquet path or a postgres:// URL
//	    id: id                     # id column (default "id")
//	    query: SELECT ...          # the SQL query of a postgres:// source (required then, refused otherwise)
//	    categorical: [c7]          # numeric columns to read as categorical (text columns are without it)
//	    flags: {coupon: has_coupon, trade: imp_exp}  # the 0/1 columns of the center's flags (default none):
//	                               # coupon (its digital credit coupon), specialised (specialised-and-
//	                               # innovative), technology (technology-based), a_taxpayer (A-grade
//	                               # taxpayer), trade (importer/exporter); a flag column is never
//	                               # trained on unless banks.NAME.columns lists it
//	banks:                         # required: the banks served, by their certificate's name;
//	                               # any other certificate is refused at the handshake
//	  bank-a:
//	    tables: [enterprises]      # required: the tables it may train and score on
//	    models: [lr, sbt, woe]     # required: the model kinds it may train
//	    outputs: [bands, approve, scores]  # the scoring outputs it may ask for (default none: no scoring)
//	    columns: [c0, c1]          # the table columns it may train on (default: all)
//	    max_sessions: 4            # its sessions at once (default and ceiling: limits.per_bank)
//	    max_rows: 100000           # ids it may bring to a session (default and ceiling: limits.rows)
//	    flags: [coupon, specialised, technology, a_taxpayer, trade]  # the center's flags it may
//	                               # receive for the enterprises its scoring whitelists (default none)
//	    flag_grades: 2             # the most grades (A, B, ...) a whitelist may span for flags (default 2)
//	limits:                        # optional
//	  sessions: 32                 # sessions at once, all banks (default 32)
//	  per_bank: 4                  # sessions of one bank at once (default 4)
//	  trainings: 2                 # training sessions at once (default 2)
//	  rows: 1000000                # ids per session (default 1,000,000)
//	  session_timeout: 1h          # a whole session (default 1h)
//	  idle_timeout: 2m             # each wait on a bank within a session (default 2m)
//	scoring:                       # optional
//	  grades: [0.02, 0.05, 0.10, 0.20]  # probability-of-default cut points between grades A, B, C, ... (default these)
//	  batch_rows: 0                # records per scoring batch (default 0: fl/score's)
//
// The outputs are bands (each enterprise's grade, by secure comparison),
// approve (grades and the bank's whitelist of the best ones) and scores
// (each score decrypted to the bank). Keys reserved for later versions
// (audit:, metrics:) are refused as unknown until they exist.
// `veil center -check` runs LoadCenter, reads the PEM files and loads every
// table (Center.LoadTables), checking the banks' columns against them.
//
// # job.yaml (a bank's training)
//
//	center: 127.0.0.1:7070         # required: the center's address
//	center_name: center            # the name in the center's certificate (default "center")
//	cert: bank-a.pem               # required: the bank's certificate,
//	key: bank-a-key.pem            # required:   its private key,
//	ca: ca.pem                     # required:   and the CA the center is checked against
//	registry: bank-models/         # required: the bank's model registry
//	data: {source: bank.csv, id: id, label: y}   # required: source and label; id default "id";
//	                               # query and categorical as in tables
//	test: {source: bank_test.csv}  # optional separate test table (id and label default to data's);
//	test_frac: 0.2                 # else this share of the aligned rows is held out (default 0.2)
//	seed: 42                       # the split's and LR's seed (default 42)
//	table: enterprises             # required: the center's table
//	model: lr                      # required: lr, sbt or woe
//	name: sme-credit               # required: the model's name in both registries
//	checkpoint: ckpt/              # folder for checkpoints (default none)
//	audit: bank-audit.jsonl        # the bank's own audit log (package node/audit; default none)
//	psi_cache: psi-cache/          # the bank's caches of the center's encoded tables, with the center's
//	                               # answers for its ids (psi.OpenCache, a subfolder a table; default
//	                               # psi-cache beside the registry): a later alignment costs O(new ids)
//	lr:                            # model lr (and woe, whose scorecard is an LR)
//	  epochs: 30                   # default 30
//	  batch: 0                     # mini-batch rows (default 0: full batch)
//	  optimizer: momentum          # momentum, nesterov or sgd (default momentum); adam with reveal_gradients
//	  learning_rate: 0             # default 0: the optimizer's
//	  momentum: 0                  # default 0: the optimizer's (0.8)
//	  reveal_gradients: false      # default false (see package vlr)
//	  l2: -1                       # default -1: 1/training rows
//	  sigmoid_degree: 5            # default 5
//	  sigmoid_bound: 8             # default 8
//	  clip: 5                      # standardized features' clip (default 5; 0: none)
//	sbt:                           # model sbt
//	  trees: 30                    # default 30
//	  depth: 3                     # default 3
//	  min_node_rows: ...           # default model.DefaultMinNodeRows
//	  min_bin_rows: ...            # default model.DefaultMinBinRows
//	  dp_epsilon: 0                # default 0: no differential privacy
//	  dp_delta: 0.00001            # default 1e-5
//	  bins: 32                     # default 32
//	  eta: 0.3                     # default 0.3
//	  lambda: 1                    # default 1
//	  link_mbps: 0                 # the link's Mbit/s to plan the bytes for (default 0: none, the least
//	                               # computation; 100 on a 100 Mbit/s WAN: default_credit 30x3 sends
//	                               # about 183 MB instead of 1,042 MB, for about twice the center's CPU)
//	woe:                           # model woe
//	  method: quantile             # quantile or optimal (default quantile)
//	  bins: 32                     # default 32
//	  min_iv: 0                    # default 0
//	  top_k: 0                     # default 0: all
//	  base_points: 500             # points at base_odds (default 500)
//	  pdo: 20                      # points to double the odds (default 20)
//	  base_odds: 1                 # default 1
//
// A section of a model the job does not train is an error. Job.Digest is
// the SHA-256 of the file's bytes, recorded with the model halves.
//
// # score.yaml (a bank's scoring)
//
//	center, center_name, cert, key, ca, registry   # as in job.yaml
//	audit: bank-audit.jsonl                        # as in job.yaml
//	psi_cache: psi-cache/                          # as in job.yaml (the same folder serves both)
//	data: {source: applicants.csv, id: id}         # required: source; no label
//	model: sme-credit              # required: the registered model's name
//	version: 0                     # default 0: the latest
//	output: bands                  # bands, approve or scores (default bands)
//	out: scoring-out/              # folder of grades.csv and whitelist.csv (default scoring-out)
//	grades: [0.02, 0.05, 0.10, 0.20]  # cut points asked for (default: the center's)
//	approve: 2                     # best grades pre-approved (default 2)
//	max_line: 3000000              # credit line of grade A, yuan (default 3,000,000)
//	rate_max: 4.2                  # the rate ceiling: every approved grade's base rate, percent (default 4.2)
//	rate_min: 3.8                  # the rate floor (default 3.8)
//	coupon_discount: 0.2           # points off for the center's credit coupon (default 0.2)
//	category_discount: 0.2         # points off, once, for any category flag (default 0.2)
//	lines: [3000000, 1500000]      # line cap per approved grade, A first (default max_line*(approve-k)/approve)
//	rates: [4.2, 4.2]              # base rate per approved grade (default rate_max each)
//	flags: [coupon, technology]    # the center's flags asked for (default none): disclosed
//	                               # for whitelisted enterprises only, if the center's policy lists them
//
// The whitelist's pricing is node.Pricing: grade k's rate is its base rate
// less the coupon's and the categories' discounts, never below rate_min.
package config
