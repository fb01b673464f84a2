"""What comes after a study: fine-tune a chosen run (or every seed of a case, as a new case
of the study), promote a case to the next baseline.

``finetune`` is the second write-up's "select the best model and fine-tune it": a new run
that starts from another run's last checkpoint (weights and optimizer moments) with new
settings. ``add_finetune_case`` does it for every seed of a case: a new case of the same
study whose runs continue the case's, compared in the report with that case. ``promote`` is the first write-up's "second version": the next study file, with
one case folded into the baseline and a case that goes back, to check the promotion.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..base.atomic import write_text
from ..base.errors import GanstudyError
from ..base.paths import inside
from ..spec.config import RunConfig, flatten, unflatten
from ..spec.layers import Layer, build_config, load_toml, parse_overrides
from ..spec.settings import MAX_NAME
from ..spec.study import load_study


def finetune_config(run_dir: str | Path, overrides: list[str], iterations: int | None) -> RunConfig:
    """The source run's config with the new settings; ``iterations`` is the fine-tune's length."""
    described = _described(run_dir)
    layers = [Layer(f"{run_dir}/config.json", flatten(described["config"])), parse_overrides(overrides)]
    if iterations is not None:
        layers.append(Layer("--iterations", {"train.iterations": iterations, "train.epochs": 0}))
    return build_config(layers)


def _described(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "config.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise GanstudyError(f"{run_dir}: not a run folder (no config.json).") from None
    except json.JSONDecodeError:
        raise GanstudyError(f"{path}: damaged; this run cannot be fine-tuned.") from None


def promote(study_dir: str | Path, case_id: str, out: str | Path | None = None, force: bool = False) -> Path:
    """Write the next study version with ``case_id`` as its baseline; returns the new file."""
    from .studyfolder import STUDY_FILE, resolve_study

    study_file, _, _ = resolve_study(study_dir, None)
    study = load_study(study_file)
    plan = study.case(case_id)
    if case_id == "baseline":
        raise GanstudyError("promote: the baseline is already the baseline; name one of the cases.")
    raw = load_toml(study_file)
    cases = {c["id"]: c for c in raw.get("cases", [])}
    chain = []
    node: dict[str, Any] | None = cases[case_id]
    while node is not None:  # the promoted case and the cases it is based on
        chain.append(node)
        node = cases.get(node["base"]) if node.get("base") else None
    baseline = flatten(raw.get("baseline", {}))
    for node in reversed(chain):
        baseline.update(flatten(node.get("set", {})))
    old_base = study.case("baseline").config.flat()
    changed = {k for node in chain for k in flatten(node.get("set", {}))}
    back = {k: old_base[k] for k in sorted(changed) if old_base.get(k) is not None}
    chain_ids = {n["id"] for n in chain}
    new_cases = [{
        "id": f"back-to-{_slug(study.meta.name)}-baseline"[:63],
        "title": f"Undo the promoted case '{case_id}' (the previous baseline)",
        "expect": "worsen",
        "rationale": f"'{plan.title}' was promoted to the baseline; this checks that it helped.",
        "set": back,
    }]
    for c in raw.get("cases", []):
        if c["id"] in chain_ids:
            continue
        c = dict(c)
        if c.get("base") in chain_ids:
            del c["base"]  # its base is part of the new baseline now
        new_cases.append(c)
    name = _next_name(study.meta.name)
    meta = dict(raw["study"], name=name)
    meta["description"] = f"{study.meta.name} with case '{case_id}' promoted to the baseline. " + meta.get("description", "")
    target = Path(out) if out else inside(study_dir if Path(study_dir).is_dir() else ".", f"{name}.toml")
    if target.exists() and not force:
        raise GanstudyError(f"{target} exists; give --out another file or --force to replace it.")
    import tomli_w

    header = f"# {name}: written by `ganstudy promote {study_dir} {case_id}` from {study_file.name if study_file.name != STUDY_FILE else study_file}.\n"
    write_text(target, header + tomli_w.dumps({"study": meta, "baseline": unflatten(baseline), "cases": new_cases}))
    load_study(target)  # what we write must load
    return target


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-") or "study"


def _next_name(name: str) -> str:
    """``name-v2`` (``name-v3`` from ``name-v2``), short enough to be a study's name still."""
    match = re.fullmatch(r"(.*)-v(\d+)", name)
    stem, version = (match.group(1), int(match.group(2)) + 1) if match else (name, 2)
    suffix = f"-v{version}"
    return stem[: MAX_NAME - len(suffix)] + suffix


def add_finetune_case(study_dir: str | Path, case: str, overrides: list[str], iterations: int | None,
                      new_id: str | None = None) -> str:
    """Add to the study in ``study_dir`` a case that fine-tunes every seed of ``case`` with the
    new settings (``ganstudy run`` then trains it); the study file is edited in place. Returns its id."""
    import tomlkit

    from .studyfolder import STUDY_FILE, study_folder

    path = study_folder(study_dir) / STUDY_FILE
    study = load_study(path)
    study.case(case)  # an unknown case is an error naming the cases there are
    changes = dict(parse_overrides(overrides, "--set").keys)
    if iterations is not None:
        changes.update({"train.iterations": iterations, "train.epochs": 0})
    if not changes:
        raise GanstudyError("finetune: give the new settings (--set KEY=VALUE) and/or --iterations N.")
    taken = {p.id for p in study.cases}
    new_id = new_id or next(f"{case}-finetuned" + (f"-{i}" if i else "") for i in range(100)
                            if f"{case}-finetuned" + (f"-{i}" if i else "") not in taken)
    if new_id in taken:
        raise GanstudyError(f"finetune: the study already has a case {new_id!r}; give another --id.")
    text = path.read_text(encoding="utf-8")
    doc = tomlkit.parse(text)
    entry = tomlkit.table()
    entry.update({"id": new_id, "title": f"{case}, fine-tuned: " + ", ".join(f"{k} = {v}" for k, v in changes.items()),
                  "finetune_from": case})
    settings = tomlkit.inline_table()
    settings.update(changes)
    entry["set"] = settings
    doc.setdefault("cases", tomlkit.aot()).append(entry)
    write_text(path, tomlkit.dumps(doc))
    try:
        load_study(path)
    except GanstudyError:
        write_text(path, text)  # what we wrote must load; if not, the study is left as it was
        raise
    return new_id
