// Package dataset holds the data side of Veil: the two parties' tables, their
// CSV files and a synthetic pair to develop and benchmark on.
//
// A Table is one party's view: an id per row, numeric feature columns stored
// row-major in a []float64 (NaN marks a missing value) and, for the bank (the
// active party), a 0/1 label per row. ReadCSV and ParseCSV read the layout of
// the shared datasets (a header line, an "id" column, a "y" label column in the
// bank's *_guest.csv files, numeric features), fast enough for millions of rows
// and with errors that name the file, line and column; Table.WriteCSV writes the
// same layout back exactly.
//
// Synthesize generates the reference story's data: a bank's loan applicants and
// a city credit center's public records about Dalian enterprises, keyed by
// unified social credit codes (ValidUSCC checks them), overlapping only in part
// and in different row orders, so that alignment is needed, with a default label
// that depends on both tables in ways trees capture better than a linear model.
//
// Align is the plaintext reference for private set intersection; SelectIDs puts
// a table in the agreed order of common ids; StratifiedSplit makes reproducible
// train/test splits.
package dataset
