"""The report's sentences, one source for report.md and report.html: how the verdicts were
reached, what the seeds could find, how much seeds paired, what the real-data floor means."""

from __future__ import annotations

import math

from ..metrics.registry import get as get_metric
from .collect import StudyResults
from .format import num


def method_text(res: StudyResults) -> list[str]:
    """How the verdicts were reached, in the study's own terms (a paragraph, then bullets)."""
    s = res.study.meta
    design = res.study.design()
    band = (f"+/-{num(s.equivalence_abs)} {res.primary}" if s.equivalence_abs else
            f"+/-{100 * s.equivalence:g}% of the median of the baseline's first runs that trained")
    control = ("Holm's correction (the chance of any false 'improves' or 'worsens' in the study is at most "
               f"{s.alpha:g})" if s.error_control == "holm" else
               f"the Benjamini-Hochberg procedure (false discovery rate at most {s.alpha:g})")
    if design.adaptive_:
        base = (f" (the baseline {', '.join(map(str, design.baseline_looks))}: it is compared with every case)"
                if design.baseline_share != 1 else "")
        seeds = (f"{design.looks[0]} seeds a case at first; cases still undecided got more, analysed at "
                 f"{', '.join(map(str, design.looks))} seeds{base}. Alpha is spent over these analyses by "
                 "group-sequential boundaries, so looking after every round does not raise the error rates; a case "
                 f"that could not be decided by {design.looks[-1]} seeds stopped early, saying so")
    else:
        seeds = f"{design.looks[0]} seed{'s' if design.looks[0] != 1 else ''}"
    pairing = ("each case's runs against the baseline's as two samples (GAN training is chaotic: "
               "runs with the same seed barely pair)" if s.pairing == "none" else
               "each case's runs paired with the baseline's by seed (declared in the study: pairing = \"seed\")")
    repeated = "repeated " if design.adaptive_ else ""
    return [
        f"Primary metric: **{res.primary}** ({'lower' if get_metric(res.primary).lower_is_better else 'higher'} "
        "is better). The difference is case minus baseline: the difference of their means over the runs that "
        "trained (a diverged run has no metric; a collapsed one's measures the collapse: both are counted as "
        "failures instead), with a confidence interval from Welch's t (fewer degrees of freedom where the arms "
        "spread unequally), comparing " + pairing + ".",
        "",
        f"- Seeds: {seeds}.",
        f"- **improves** / **worsens**: the {100 * (1 - s.alpha):g}% {repeated}interval lies wholly beyond the "
        f"equivalence band ({band}), by a test adjusted with {control}; or the case diverges or collapses more (or "
        "less) often than the baseline (Fisher's exact test on the counts).",
        f"- **no effect**: the {100 * (1 - 2 * s.alpha):g}% {repeated}interval (two one-sided tests) lies inside "
        "the band, and the case fails no more often than the baseline; a case that truly differs by the band or "
        f"more gets this verdict at most {100 * s.alpha:g}% of the time.",
        "- **inconclusive**: neither, with the reason; **does not change training**: the same runs as the baseline "
        "(no test is run: its figures are '-').",
        *_power_line(res),
        "- Error rates and power of this procedure, also where runs collapse, tie or spread unequally, are shown by "
        "simulation: docs/statistics.md in the ganstudy repository.",
    ]


def _power_line(res: StudyResults) -> list[str]:
    if res.detectable is None:
        return []
    beyond, units = res.detectable
    if not math.isfinite(beyond):
        return ["- What these seeds could find: no difference in the metric could be shown (too few seeds for the "
                "cases tested); only failures could decide."]
    text = f"{beyond:.1f} seed-SDs beyond the band"
    if units is not None:
        text += f" (about {num(units)} {res.primary} from the baseline, with its seed-to-seed spread)"
    return [f"- What these seeds could find with 80% power: a difference of {text}; smaller ones stay inconclusive."]


def pairing_text(res: StudyResults) -> str:
    p = res.pairing
    if p is None:
        return ""
    text = (f"Seeds paired with a correlation of {p.r:.2f} (95% interval {p.low:.2f} to {p.high:.2f}) between a case "
            f"and the baseline at the same seed, over {p.pairs} pairs of {p.cases} case{'s' if p.cases > 1 else ''}: "
            f"{p.advice}")
    if p.low > 0.3 and res.study.meta.pairing == "none":
        text += ' (declare `pairing = "seed"` in the next study)'
    return text + "."


def floor_text(res: StudyResults) -> str:
    m = res.primary
    if m not in res.floor:
        return ""
    text = f"Real data scores {num(res.floor[m])} on {m} ({res.floor_note}): no generator is expected to beat it."
    negative = [k for k, v in res.floor.items() if v < 0]
    if negative:
        text += (f" ({', '.join(negative)} of real data is below 0: an unbiased estimate of a quantity that is 0 for "
                 "identical distributions scatters around 0, and below it.)")
    return text
