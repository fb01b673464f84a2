"""Verdicts of a study folder, and the seeds that go where the doubt is.

``comparisons`` decides every case on a metric with the study's design (its looks, error
rate, error control, pairing and equivalence band); ``seeds_needed`` says how many seeds
each case (and the baseline) should have before the next analysis. For a fixed number of
seeds that is all of them; for ``seeds = { min, max }`` it is ``min`` at first, then, round
after round, the next look for the cases still undecided. Both are pure functions of the
results in the run folders, so a study killed at any point and run again takes the same
rounds to the same verdicts.
"""

from __future__ import annotations

from .analysis import SAME, Comparison, RunRow, compare
from .metrics import get as get_metric
from .study import Study


def same_as_baseline(study: Study) -> set[str]:
    return {p.id for p in study.cases if p.same_as == "baseline"}


def comparisons(study: Study, rows: list[RunRow], metric: str, n_classes: int,
                follow: dict[str, int] | None = None) -> list[Comparison]:
    meta = study.meta
    absolute = meta.equivalence_abs if metric == meta.metric else None
    return compare(rows, metric, get_metric(metric).lower_is_better, design=meta.design(), seeds=study.seeds,
                   equivalence=meta.equivalence, equivalence_abs=absolute, same_as_baseline=same_as_baseline(study),
                   n_classes=n_classes, follow=follow)


def seeds_needed(study: Study, rows: list[RunRow], n_classes: int) -> dict[str, int]:
    """case -> seeds it should have now (the baseline: as many as its longest case)."""
    design = study.meta.design()
    if not design.adaptive_:
        return {p.id: len(study.seeds) for p in study.cases}
    need = {c.case: c.seeds_wanted for c in comparisons(study, rows, study.meta.metric, n_classes)
            if c.verdict != SAME}
    need["baseline"] = max(need.values(), default=design.looks[0])
    for p in study.cases:
        need.setdefault(p.id, need["baseline"] if p.same_as == "baseline" else design.looks[0])
    return need
