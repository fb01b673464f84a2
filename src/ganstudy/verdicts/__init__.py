"""From runs to verdicts: each case compared with the baseline on every metric
(``compare``), and the rounds of an adaptive study (``rounds``), with ``stats`` doing the maths."""
