"""The tables of ``docs/statistics.md``, generated from the simulation (never typed):

    python -m ganstudy.stats.tables            # print them
    python -m ganstudy.stats.tables --write    # replace the generated part of docs/statistics.md

Every figure is a Monte-Carlo estimate from ``simulate.py`` with fixed random seeds, so the
same code gives the same tables; the test suite checks that the document is up to date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .procedure import IMPROVES, WORSENS, Design
from .simulate import SCENARIOS, false_effects, false_no_effect, power, simulate

STUDIES = 4000
CASES = 12
BAND = 1.0  # seed-SDs: a 5% band on a metric whose seeds spread by 4% (FID of the quickstart)
FIXED = (3, 4, 5, 6, 8, 10, 12)
EFFECTS = (0.5, 1.0, 2.0)
BEGIN, END = "<!-- BEGIN GENERATED TABLES -->", "<!-- END GENERATED TABLES -->"


def _designs(error_control: str = "holm") -> list[tuple[str, Design]]:
    return [(f"{n} seeds", Design.fixed(n, error_control=error_control)) for n in (3, 6, 12)] + [
        ("adaptive 3-12", Design.adaptive(3, 12, error_control=error_control))]


def calibration(studies: int = STUDIES) -> list[str]:
    rows = ["| scenario | design | A/A: false improves/worsens, per case | per study (12 cases) | "
            "at the band's edge: false worsens, per case | false no effect, per case |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name in SCENARIOS.names():
        for label, design in _designs():
            case, study = false_effects(design, name, CASES, band=0.0, studies=studies, seed=1)
            edge, _ = false_effects(design, name, CASES, band=BAND, at_edge=True, studies=studies, seed=2)
            no_effect = false_no_effect(design, name, BAND, CASES, studies=studies, seed=3)
            rows.append(f"| {name} | {label} | {case} | {study} | {edge} | {no_effect} |")
    return rows


def fdr(studies: int = STUDIES) -> list[str]:
    """False discovery rate of error_control = "fdr" with half the cases truly worse by 2 seed-SDs."""
    rows = ["| design | false discovery rate, 6 of 12 cases worse by band + 2 seed-SDs | A/A: any false claim |",
            "| --- | ---: | ---: |"]
    effects = np.array([0.0] * 6 + [BAND + 2.0] * 6)
    for label, design in _designs("fdr"):
        d = simulate(design, effects, BAND, studies=studies, seed=4)
        claims = np.isin(d.verdict, (IMPROVES, WORSENS))
        false = claims[:, :6].sum(-1)
        fdp = np.where(claims.sum(-1) > 0, false / np.maximum(claims.sum(-1), 1), 0.0)
        _, study = false_effects(design, "normal", CASES, band=0.0, studies=studies, seed=5)
        rows.append(f"| {label} | {fdp.mean():.3f} | {study} |")
    return rows


def power_table(studies: int = STUDIES) -> list[str]:
    head = " | ".join(f"{e:g} SD" for e in EFFECTS)
    rows = [f"| seeds | 1 case: {head} | 12 cases (Holm): {head} |",
            "| --- |" + " ---: |" * (2 * len(EFFECTS))]
    designs = [(str(n), Design.fixed(n)) for n in FIXED] + [("3 to 12 (adaptive)", Design.adaptive(3, 12)),
                                                             ("3 to 8 (adaptive)", Design.adaptive(3, 8))]
    for label, design in designs:
        cells = []
        for cases in (1, CASES):
            for e in EFFECTS:
                rate, seeds = power(design, e, cases, studies=studies, seed=6)
                cells.append(f"{rate.value:.2f}" + (f" ({seeds:.1f})" if len(design.looks) > 1 else ""))
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


#: Studies like the write-ups', in seed-SDs: (label, true differences of the 12 cases).
MIXES = (
    ("4 without effect, 4 at band + 1.5, 4 at band + 3", [0.0] * 4 + [BAND + 1.5] * 4 + [BAND + 3.0] * 4),
    ("2 without effect, 10 at band + 3 (most changes matter)", [0.0] * 2 + [BAND + 3.0] * 10),
    ("8 without effect, 4 at band + 2 (few changes matter)", [0.0] * 8 + [BAND + 2.0] * 4),
)


def _spend(design: Design, effects: list[float], studies: int) -> tuple[float, float]:
    """(share of real effects found, seeds of the whole study incl. the baseline)."""
    effects_ = np.asarray(effects)
    d = simulate(design, effects_, BAND, studies=studies, seed=7)
    found = (d.verdict[:, effects_ > 0] == WORSENS).mean()
    seeds = d.seeds.sum(-1) + d.seeds.max(-1)  # the baseline runs as long as its longest case
    return float(found), float(seeds.mean())


def compute(studies: int = STUDIES) -> list[str]:
    rows = ["| study | design | real effects found | seeds, whole study | fixed design of the same power | its seeds | "
            "compute ratio |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, effects in MIXES:
        fixed = [(n, *_spend(Design.fixed(n), effects, studies)) for n in range(3, 13)]
        powers = np.maximum.accumulate([f for _, f, _ in fixed])  # the fewest seeds that reach a power
        for first, last in ((3, 12), (3, 8)):
            found, seeds = _spend(Design.adaptive(first, last), effects, studies)
            if found > powers[-1]:
                rows.append(f"| {label} | adaptive {first}-{last} | {found:.3f} | {seeds:.1f} | more than 12 seeds "
                            "| - | - |")
                continue
            n = float(np.interp(found, powers, [n for n, _, _ in fixed]))
            fixed_seeds = n * (len(effects) + 1)
            rows.append(f"| {label} | adaptive {first}-{last} | {found:.3f} | {seeds:.1f} | {n:.1f} seeds | "
                        f"{fixed_seeds:.1f} | {seeds / fixed_seeds:.2f} |")
    return rows


def generate(studies: int = STUDIES) -> str:
    parts = [BEGIN, "",
             f"Generated by `python -m ganstudy.stats.tables --write` ({studies} simulated studies a cell; "
             f"{CASES} cases; the band is {BAND:g} seed-SD where it matters; alpha 0.05). Brackets: 95% "
             "Monte-Carlo interval.", "",
             "### Error rates", "", *calibration(studies), "",
             "### Error rates with `error_control = \"fdr\"`", "", *fdr(studies), "",
             "### Power", "",
             "Chance that a case worse than the band's edge by 0.5, 1 or 2 seed-SDs is found to worsen, the other "
             "cases of the study having no effect (normal spread). Adaptive rows: mean seeds the case took.", "",
             *power_table(studies), "",
             "### Compute: adaptive seeds against a fixed number", "",
             "Studies of 12 cases, their true differences in seed-SDs. "
             "Seeds are counted over the whole study (the baseline runs as long as its longest case); the fixed "
             "design of the same power is interpolated between whole seed counts.", "",
             *compute(studies), "", END]
    return "\n".join(parts)


def write(doc: Path, studies: int = STUDIES) -> None:
    text = doc.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + generate(studies) + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganstudy.stats.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", metavar="DOC", nargs="?", const="docs/statistics.md",
                        help="replace the generated part of this document (default docs/statistics.md)")
    args = parser.parse_args(argv)
    if args.write:
        write(Path(args.write))
    else:
        sys.stdout.write(generate() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
