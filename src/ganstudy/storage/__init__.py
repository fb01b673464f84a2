"""A study on disk: the index of runs (SQLite), the study folder and its state, the table
of results a report reads, and lineage (what a study was promoted or continued from)."""
