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

from dataclasses import replace

from ..metrics.registry import get as get_metric
from ..spec.study import Study
from ..stats.design import Design
from .compare import SAME, Comparison, RunRow, compare


def same_as_baseline(study: Study) -> set[str]:
    return {p.id for p in study.cases if p.same_as == "baseline"}


def comparisons(study: Study, rows: list[RunRow], metric: str, n_classes: int,
                follow: dict[str, int] | None = None) -> list[Comparison]:
    """Every case against the baseline, and every fine-tune against the case it continues."""
    meta = study.meta
    absolute = meta.equivalence_abs if metric == meta.metric else None
    tunes = {p.id: p.finetune_from for p in study.cases if p.finetune_from}
    main = compare([r for r in rows if r.case not in tunes], metric, get_metric(metric).lower_is_better,
                   design=study.design(), seeds=study.seeds, equivalence=meta.equivalence, equivalence_abs=absolute,
                   same_as_baseline=same_as_baseline(study), n_classes=n_classes, follow=follow)
    return main + [_against_source(study, rows, metric, n_classes, case, source, absolute)
                   for case, source in tunes.items()]


def _against_source(study: Study, rows: list[RunRow], metric: str, n_classes: int, case: str, source: str,
                    absolute: float | None) -> Comparison:
    """A fine-tune against the runs it started from, seed by seed: as many seeds as both have
    (a fixed design: the source's seeds were chosen before the fine-tune existed)."""
    meta = study.meta
    mine = {r.seed: r for r in rows if r.case == case}
    theirs = {r.seed: replace(r, case="baseline") for r in rows if r.case == source}
    seeds = [s for s in study.seeds if s in theirs and theirs[s].ended]
    design = Design.fixed(max(len(seeds), 1), alpha=meta.alpha, pairing=meta.pairing)
    comparison = compare([theirs[s] for s in seeds] + [mine[s] for s in seeds if s in mine], metric,
                         get_metric(metric).lower_is_better, design=design, seeds=seeds, equivalence=meta.equivalence,
                         equivalence_abs=absolute, n_classes=n_classes)[0]
    comparison.against = source
    return comparison


def seeds_needed(study: Study, rows: list[RunRow], n_classes: int) -> dict[str, int]:
    """case -> seeds it should have now (the baseline: its share of its longest case's)."""
    design = study.design()
    if not design.adaptive_:
        return {p.id: len(study.seeds) for p in study.cases}
    need = {c.case: c.seeds_wanted for c in comparisons(study, rows, study.meta.metric, n_classes)
            if c.verdict != SAME and c.against == "baseline"}
    # The baseline serves every case: it gets its share of the seeds of its longest case.
    need["baseline"] = design.baseline_seeds(max(need.values(), default=design.looks[0]))
    for p in study.cases:
        need.setdefault(p.id, need["baseline"] if p.same_as == "baseline" else design.looks[0])
    for p in study.cases:  # a fine-tune continues every seed its source has
        if p.finetune_from:
            need[p.id] = need.get(p.finetune_from, need["baseline"])
    return need
