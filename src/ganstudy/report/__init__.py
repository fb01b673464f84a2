"""Reports of a study: report.md, report.html and results.csv, written whole and never stale
(``write``); the numbers they show (``collect``), their tables, figures and words; the live
report a running study keeps; and the plan shown before anything trains (``plan``)."""
