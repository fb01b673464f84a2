"""The Python API: what the ``ganstudy`` command does, for a notebook or a script.

    import ganstudy as gs
    study = gs.load("studies/quickstart.toml", set={"train.iterations": 300})
    gs.plan(study)                                   # the cases, what each changes, its runs
    folder = gs.run(study, out="runs/quickstart")    # trains what is missing; resumes; safe to re-run
    folder.verdicts()                                # a row a case: verdict, difference, interval, p
    folder.runs().to_pandas()                        # a row a case x seed: every metric (pandas extra)
    folder.report()                                  # writes report/; shows inline in Jupyter

Every function takes what the CLI takes and raises :class:`ganstudy.GanstudyError` with the
CLI's message for a user mistake. Tables are :class:`Records`: a list of plain dicts that
Jupyter shows as a table and ``to_pandas()`` turns into a DataFrame. The CLI is a layer over
these functions and calls nothing else, so the two cannot drift apart: ``studies`` (a study
and its folder), ``runs`` (one run: train, fine-tune, score) and ``listing`` (keys and names).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Each public name and the room that defines it. Imported on first use, so that ``import
#: ganstudy`` and every ``ganstudy`` command start without loading what they do not need.
_ROOMS = {
    "listing": ("KINDS", "catalog", "keys"),
    "runs": ("TrainedRun", "add_finetune_case", "check_out", "finetune", "metric_direction", "score_images",
             "score_real", "score_run", "train", "train_evaluator"),
    "studies": ("Records", "Report", "StudyFolder", "add_seeds", "declared_imports", "estimate", "load", "open",
                "overrides", "plan", "plan_notes", "preflight", "promote", "run", "watch"),
}
_WHERE = {name: room for room, names in _ROOMS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
