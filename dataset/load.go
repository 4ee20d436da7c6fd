package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver of Load
)

// Load reads a table from source, whose form picks the reader:
//
//   - a path ending in .parquet: ReadParquet;
//   - a PostgreSQL URL followed by # and a query,
//     "postgres://user@host:5432/db?sslmode=require#SELECT id, y, income FROM bank"
//     (postgresql:// too; a Unix socket as ?host=/run/postgresql): ReadSQL over
//     github.com/jackc/pgx/v5's driver, the query run as written;
//   - anything else, a CSV path: ReadCSV with opt and CSVOptions' default
//     separator.
//
// opt names the id, label and categorical columns for all three.
func Load(ctx context.Context, source string, opt TableOptions) (*Table, error) {
	if strings.HasPrefix(source, "postgres://") || strings.HasPrefix(source, "postgresql://") {
		url, query, ok := strings.Cut(source, "#")
		if !ok || strings.TrimSpace(query) == "" {
			return nil, fmt.Errorf("dataset: %s: a PostgreSQL source is URL#QUERY, e.g. postgres://host/db#SELECT id, y, income FROM bank", redactURL(url))
		}
		db, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", redactURL(url), err)
		}
		defer db.Close()
		return ReadSQL(ctx, db, query, opt)
	}
	if strings.HasSuffix(strings.ToLower(source), ".parquet") {
		return ReadParquet(source, opt)
	}
	return ReadCSV(source, CSVOptions{IDColumn: opt.IDColumn, LabelColumn: opt.LabelColumn, Categorical: opt.Categorical})
}

// redactURL hides a password in a connection URL for messages.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, hasPass := strings.Cut(rest[:at], ":"); hasPass {
			return scheme + "://" + user + ":xxxxx" + rest[at:]
		}
	}
	return u
}
