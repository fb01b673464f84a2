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

from .design import IMPROVES, WORSENS, Design
from .simulate import FAMILIES, false_effects, false_no_effect, power, simulate, spend

STUDIES = 4000
CASES = 12
BAND = 1.0  # seed-SDs: a 5% band on a metric whose seeds spread by 5% (FID of the quickstart)
FIXED = (3, 4, 5, 6, 8, 10, 12)
EFFECTS = (0.5, 1.0, 2.0)
BEGIN, END = "<!-- BEGIN GENERATED TABLES -->", "<!-- END GENERATED TABLES -->"


def designs(error_control: str = "holm") -> list[tuple[str, Design]]:
    """The designs every table shows: fixed seeds, and the default adaptive one."""
    return [(f"{n} seeds", Design.fixed(n, error_control=error_control)) for n in (3, 6, 10)] + [
        ("adaptive 3-10", Design.adaptive(3, 10, error_control=error_control))]


def calibration(studies: int = STUDIES) -> list[str]:
    rows = ["| family | design | A/A, band 0: false improves/worsens per study (12 cases) | band from the data: "
            "per study | at the band's edge: false worsens, per case | false no effect, per case |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name in FAMILIES.names():
        for label, design in designs():
            _, study = false_effects(design, name, CASES, band=0.0, studies=studies, seed=1)
            _, data = false_effects(design, name, CASES, band=None, studies=studies, seed=4)
            edge, _ = false_effects(design, name, CASES, band=BAND, at_edge=True, studies=studies // 4, seed=2)
            no_effect = false_no_effect(design, name, None, CASES, studies=studies // 4, seed=3)
            rows.append(f"| {name} | {label} | {study} | {data} | {edge} | {no_effect} |")
    return rows


def fdr(studies: int = STUDIES) -> list[str]:
    """False discovery rate of error_control = "fdr" with half the cases truly worse by 2 seed-SDs."""
    rows = ["| design | false discovery rate, 6 of 12 cases worse by band + 2 seed-SDs | A/A: any false claim |",
            "| --- | ---: | ---: |"]
    effects = np.array([0.0] * 6 + [BAND + 2.0] * 6)
    for label, design in designs("fdr"):
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
    options = [(str(n), Design.fixed(n)) for n in FIXED] + [("3 to 10 (adaptive)", Design.adaptive(3, 10)),
                                                             ("3 to 12 (adaptive)", Design.adaptive(3, 12))]
    for label, design in options:
        cells = []
        for cases in (1, CASES):
            for e in EFFECTS:
                rate, seeds = power(design, e, cases, studies=studies, seed=6)
                cells.append(f"{rate.value:.2f}" + (f" ({seeds:.1f})" if design.adaptive_ else ""))
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


#: Studies of 12 cases, their true differences in seed-SDs: (label, differences).
MIXES = (
    ("6 without effect, 6 at band + 2", [0.0] * 6 + [BAND + 2.0] * 6),
    ("12 without effect (all null)", [0.0] * 12),
    ("12 at band + 2 (all effect)", [BAND + 2.0] * 12),
    ("4 without effect, 4 at band + 1.5, 4 at band + 3", [0.0] * 4 + [BAND + 1.5] * 4 + [BAND + 3.0] * 4),
)


def equal_power(effects: list[float], found: float, studies: int) -> float | None:
    """Seeds of the fixed design (every arm alike) that finds ``found`` of the effects,
    interpolated between whole seed counts; None beyond 16 seeds."""
    counts = list(range(3, 17))
    powers = np.maximum.accumulate([spend(Design.fixed(n), effects, studies=studies)[0] for n in counts])
    return None if found > powers[-1] else float(np.interp(found, powers, counts))


def compute(studies: int = STUDIES) -> list[str]:
    rows = ["| study | design | real effects found | runs, whole study | fixed design of the same power | its runs | "
            "runs saved |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for first, last in ((3, 10), (3, 12)):
        design = Design.adaptive(first, last)
        # The all-null study finds nothing: it is held against the fixed design of the first study's power.
        reference = equal_power(MIXES[0][1], spend(design, MIXES[0][1], studies=studies)[0], studies)
        for label, effects in MIXES:
            found, runs = spend(design, effects, studies=studies)
            real = any(e != 0 for e in effects)
            n = equal_power(effects, found, studies) if real else reference
            if n is None:
                rows.append(f"| {label} | adaptive {first}-{last} | {found:.3f} | {runs:.1f} | more than 16 seeds | - |"
                            " - |")
                continue
            fixed_runs = n * (len(effects) + 1)
            rows.append(f"| {label} | adaptive {first}-{last} | {f'{found:.3f}' if real else '-'} | {runs:.1f} | "
                        f"{n:.1f} seeds{'' if real else ' (the first study' + chr(39) + 's)'} | {fixed_runs:.1f} | "
                        f"{fixed_runs / runs:.2f}x |")
    return rows


def generate(studies: int = STUDIES) -> str:
    parts = [BEGIN, "",
             f"Generated by `python -m ganstudy.stats.tables --write` ({studies} simulated studies a cell, a quarter "
             f"of that for the per-case columns; {CASES} cases; the band is {BAND:g} seed-SD where it matters, or "
             "taken from the data as a study takes it; alpha 0.05). Brackets: 95% Monte-Carlo interval.", "",
             "### Error rates, by failure family", "", *calibration(studies), "",
             "### Error rates with `error_control = \"fdr\"`", "", *fdr(studies), "",
             "### Power", "",
             "Chance that a case worse than the band's edge by 0.5, 1 or 2 seed-SDs is found to worsen, the other "
             "cases of the study having no effect (normal spread, band 0). Adaptive rows: mean seeds the case took.",
             "", *power_table(studies), "",
             "### Compute: adaptive seeds against a fixed number", "",
             "Studies of 12 cases, their true differences in seed-SDs, band 1 seed-SD. Runs are counted over the "
             "whole study (an adaptive baseline gets 1.5x the seeds of its longest case). The fixed design of the "
             "same power has every arm at the same seeds, interpolated between whole counts; the all-null study "
             "finds nothing to find, so it is held against the fixed design of the first study's power.", "",
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
