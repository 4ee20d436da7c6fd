// Package dataset holds the data side of Veil: the two parties' tables, read
// from CSV or Parquet files or a SQL query, and a synthetic pair to develop and
// benchmark on.
//
// A Table is one party's view: an id per row, feature columns stored row-major
// in a []float64 (NaN marks a missing value) and, for the bank (the active
// party), a 0/1 label per row. A feature column is numeric or categorical:
// banks and credit centers export text (an industry, a district, a loan
// product), and a categorical column's cells hold the index of their label in
// Table.Categories, whose labels are sorted in byte order so that an index
// names the same label whatever order the rows came in. Missing cells stay
// NaN in both kinds.
//
// ReadCSV and ParseCSV read the layout of the shared datasets (a header line,
// an "id" column, a "y" label column in the bank's *_guest.csv files,
// features), fast enough for millions of rows and with errors that name the
// file, line and column. A column is categorical when CSVOptions.Categorical
// names it, and then each label is the cell's text as written, or when one of
// its cells is not a number, and then its numbers are labelled by their
// shortest form ("007" reads as "7": declare a column of codes to keep them).
// ReadParquet and ReadSQL give the same Table from typed sources: text columns
// are categorical, numeric ones numeric unless TableOptions.Categorical names
// them, NULL is missing; Load picks the reader from the source's form. Every
// reader refuses a feature column with no value at all (ErrAllMissing): it
// carries nothing and usually means a wrong export. Table.WriteCSV writes the
// same layout back exactly; CheckSameSchema tells whether a test table has the
// columns, and the column kinds, that a model was trained on.
//
// Synthesize generates the reference story's data: a bank's loan applicants and
// a city credit center's public records about Dalian enterprises, keyed by
// unified social credit codes (ValidUSCC checks them), overlapping only in part
// and in different row orders, so that alignment is needed, with a default label
// that depends on both tables in ways trees capture better than a linear model.
// SynthOptions.Categorical adds the text columns such exports hold.
//
// Align is the plaintext reference for private set intersection; SelectIDs puts
// a table in the agreed order of common ids; StratifiedSplit makes reproducible
// train/test splits.
package dataset
