"""Study files: a baseline, a list of cases, the seeds; and the plan of runs they make.

A case's config is built in layers: code defaults, ``[baseline]``, the case it is ``base``d
on (recursively), then its own ``set``. Every case is validated up front, so a typo in
case 12 fails before case 1 trains. Two cases whose configs hash alike train alike: the
plan says so, and a runner shares their runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ..base.errors import ConfigError
from ..stats.design import Design
from .config import RunConfig, flatten
from .identity import finetuned_hash
from .layers import Layer, build_config, load_toml
from .settings import StudyMeta
from .sweeps import Sweep, SweepPoint, expand

CASE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
RESERVED_IDS = {"baseline"}
Expectation = Literal["improve", "worsen", "no effect", "unsure"]


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")  # its changes are written `set` (`changes` is refused, not an alias)
    id: str
    title: str = ""
    expect: Expectation = "unsure"
    rationale: str = ""
    base: str | None = None
    finetune_from: str | None = Field(
        None, description="a case (or baseline) whose runs this one continues, seed by seed, from their checkpoints")
    changes: dict[str, Any] = Field(default_factory=dict, alias="set")
    _point: SweepPoint | None = PrivateAttr(default=None)  # a case a sweep made: where it sits in it

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not CASE_ID.match(value):
            raise ValueError(
                f"case id {value!r} must be 1-63 characters of a-z, 0-9, '-', '_', '.', starting with a letter "
                "or digit (it becomes a folder name)"
            )
        if value in RESERVED_IDS:
            raise ValueError(f"case id {value!r} is reserved")
        return value


class StudyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    study: StudyMeta
    baseline: dict[str, Any] = Field(default_factory=dict)
    cases: list[Case] = Field(default_factory=list)
    sweeps: list[Sweep] = Field(default_factory=list)
    _all: list[Case] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> StudyFile:
        self._all = list(self.cases)
        for sweep in self.sweeps:
            for table in expand(sweep):
                point = table.pop("point")
                try:
                    case = Case.model_validate(table)
                except ValidationError as exc:
                    raise ValueError(f"[[sweeps]] {sweep.id}: its case {table['id']!r}: "
                                     + "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None
                case._point = point
                self._all.append(case)
        seen: set[str] = set()
        for case in self._all:
            if case.id in seen:
                made = " (a sweep makes it; give the sweep another id)" if case._point else ""
                raise ValueError(f"case id {case.id!r} appears twice{made}")
            seen.add(case.id)
        return self

    def all_cases(self) -> list[Case]:
        """The cases, then every sweep's cases."""
        return self._all


@dataclass
class CasePlan:
    id: str  # "baseline" for the baseline
    title: str
    expect: str
    rationale: str
    config: RunConfig  # resolved, seed 0
    changes: list[tuple[str, Any, Any]]  # (key, baseline value, case value) for the keys this case sets
    derived: int  # further keys that changed as a consequence (an architecture's preset)
    same_as: str | None = None  # id of an earlier case (or "baseline") that trains identically
    finetune_from: str | None = None  # the case whose runs this one continues (compared with it, not the baseline)
    point: SweepPoint | None = None  # a sweep's case: its sweep, keys and values

    @property
    def config_hash(self) -> str:
        return self.config.config_hash()

    @property
    def presentation_only(self) -> bool:
        return self.same_as == "baseline"


@dataclass
class RunSpec:
    case: str
    seed: int
    config: RunConfig
    run_hash: str
    shared_with: list[str] = field(default_factory=list)  # other cases that use this very run
    init_from: str | None = None  # a fine-tune: the run hash whose checkpoint it starts from


@dataclass
class Study:
    path: Path
    meta: StudyMeta
    cases: list[CasePlan]  # baseline first
    raw: dict[str, Any]
    source: Path | None = None  # what it was loaded from (a study file, or the folder a study ran in)
    overrides: list[str] = field(default_factory=list)  # the --set strings applied to every case
    folder: Path | None = None  # the study folder it runs in (as loaded by the API)

    @property
    def compared(self) -> int:
        """Cases compared with the baseline in one family (not those training as it does, nor fine-tunes)."""
        return sum(1 for p in self.cases[1:] if p.same_as != "baseline" and not p.finetune_from)

    def design(self) -> Design:
        """The study's statistical design (``StudyMeta.design`` for its cases)."""
        return self.meta.design(self.compared)

    def seeds_text(self) -> str:
        return self.meta.seeds_text(self.compared)

    @property
    def seeds(self) -> list[int]:
        """Every seed the study may use (the baseline's: an adaptive baseline may get the most)."""
        return self.meta.seed_list(self.compared)

    def case_seeds(self, case_id: str) -> list[int]:
        """The seeds a case may use: the baseline all, a case the last look's (a fine-tune its source's)."""
        plan = self.case(case_id)
        if plan.finetune_from:
            return self.case_seeds(plan.finetune_from)
        if case_id == "baseline":
            return self.seeds
        return self.seeds[: self.design().looks[-1]]

    def case(self, case_id: str) -> CasePlan:
        for plan in self.cases:
            if plan.id == case_id:
                return plan
        raise ConfigError(f"{self.path}: no case {case_id!r}; cases: {', '.join(c.id for c in self.cases)}")

    def runs(self, seeds: dict[str, int] | None = None) -> list[RunSpec]:
        """One spec per distinct run, in plan order; cases that train alike share a spec.
        ``seeds`` limits a case to its first N seeds (an adaptive study's current round)."""
        by_hash: dict[str, RunSpec] = {}
        for plan in self.cases:
            mine = self.case_seeds(plan.id)
            for seed in mine[: (seeds or {}).get(plan.id, len(mine))]:
                cfg = with_seed(plan.config, seed)
                h = self.run_hash(plan.id, seed)
                source = self.run_hash(plan.finetune_from, seed) if plan.finetune_from else None
                if h in by_hash:
                    by_hash[h].shared_with.append(plan.id)
                else:
                    by_hash[h] = RunSpec(plan.id, seed, cfg, h, init_from=source)
        return list(by_hash.values())

    def run_hash(self, case_id: str, seed: int) -> str:
        """The identity of case x seed's run: its config's hash, and for a fine-tune also the
        identity of the run it starts from (as the Trainer computes it)."""
        plan = self.case(case_id)
        own = with_seed(plan.config, seed).run_hash()
        if plan.finetune_from is None:
            return own
        return finetuned_hash(own, self.run_hash(plan.finetune_from, seed))


def with_seed(cfg: RunConfig, seed: int) -> RunConfig:
    tree = cfg.model_dump()
    tree["train"]["seed"] = seed
    return RunConfig.model_validate(tree)


def _layers_for(case: Case, by_id: dict[str, Case], path: Path, chain: tuple[str, ...] = ()) -> list[Layer]:
    if case.id in chain:
        raise ConfigError(f"{path}: case {case.id!r} is its own base ({' -> '.join((*chain, case.id))}).")
    layers: list[Layer] = []
    for key, other in (("finetune_from", case.finetune_from), ("base", case.base)):
        if other is not None and other != "baseline" and other not in by_id:
            raise ConfigError(f"{path}: case {case.id!r} has {key} {other!r}, which is not a case of this study.")
    base = case.base if case.base is not None else case.finetune_from  # a fine-tune keeps its source's settings
    if base is not None and base != "baseline":
        layers += _layers_for(by_id[base], by_id, path, (*chain, case.id))
    layers.append(Layer(f"{path} [case {case.id}]", flatten(case.changes)))
    return layers


def load_study(path: str | Path, extra_layers: list[Layer] | None = None) -> Study:
    """Load, validate and resolve every case of a study file."""
    path = Path(path)
    raw = load_toml(path)
    _load_plugins(raw, path)
    try:
        parsed = StudyFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = err["loc"]
            where = ".".join(str(p) for p in loc)
            if loc and loc[0] in ("cases", "sweeps") and len(loc) > 1 and isinstance(loc[1], int):
                tables = raw.get(loc[0], [])
                cid = tables[loc[1]].get("id", f"#{loc[1] + 1}") if loc[1] < len(tables) and isinstance(tables[loc[1]], dict) else f"#{loc[1] + 1}"
                where = f"[[{loc[0]}]] {cid}" + (f": {'.'.join(str(p) for p in loc[2:])}" if len(loc) > 2 else "")
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key; allowed here: " + _allowed_keys(loc)
            lines.append(f"{where}: {msg}")
        raise ConfigError(f"{path}: invalid study file. " + " ".join(dict.fromkeys(lines))) from None
    extra_layers = extra_layers or []
    base_layer = Layer(f"{path} [baseline]", flatten(parsed.baseline))
    cases = parsed.all_cases()
    for layer in [base_layer] + [Layer(f"{path} [case {c.id}]", flatten(c.changes)) for c in cases] + extra_layers:
        if "train.seed" in layer.keys:  # a study's runs are its seeds: one seed for all would be silently lost
            raise ConfigError(f"{layer.source}: train.seed is set by [study] seeds (or --seeds N on the command "
                              "line); remove it here.")
    baseline_cfg = build_config([base_layer, *extra_layers])
    base_flat = baseline_cfg.flat()
    plans = [CasePlan("baseline", "Baseline", "", parsed.study.description, baseline_cfg, [], 0)]
    by_id = {c.id: c for c in cases}
    for case in cases:
        layers = _layers_for(case, by_id, path)
        cfg = build_config([base_layer, *layers, *extra_layers])
        flat = cfg.flat()
        declared = {k for layer in layers for k in layer.keys}
        changes = [(k, base_flat.get(k), flat.get(k)) for k in sorted(declared) if base_flat.get(k) != flat.get(k)]
        derived = sum(1 for k in flat if k not in declared and base_flat.get(k) != flat.get(k))
        plans.append(CasePlan(case.id, case.title or case.id, case.expect, case.rationale, cfg, changes, derived,
                              finetune_from=case.finetune_from, point=case._point))
    for plan in plans[1:]:  # one scoring protocol per study, or the numbers are not comparable
        if plan.config.eval != baseline_cfg.eval:
            keys = [k for k, _, _ in plan.changes if k.startswith("eval.")]
            raise ConfigError(
                f"{path} [case {plan.id}]: changes {', '.join(keys)}. Evaluation settings define how every case is "
                "scored, so they belong in [baseline] (or --set), the same for all cases."
            )
    if parsed.study.metric not in baseline_cfg.eval.metrics:
        raise ConfigError(f"{path}: [study] metric '{parsed.study.metric}' is not among eval.metrics.")
    seen: dict[str, str] = {}
    for plan in plans:
        if plan.finetune_from:  # its runs start elsewhere: never the same as a case trained from scratch
            continue
        h = plan.config_hash
        if h in seen:
            plan.same_as = seen[h]
        else:
            seen[h] = plan.id
    return Study(path, parsed.study, plans, raw)


MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def declared_imports(raw: dict[str, Any], path: Path) -> list[str]:
    """The modules a study file's ``[study] imports`` names, checked (read, never imported)."""
    imports = raw.get("study", {}).get("imports", []) if isinstance(raw.get("study"), dict) else []
    if not isinstance(imports, list) or not all(isinstance(n, str) and MODULE_NAME.match(n) for n in imports):
        raise ConfigError(f"{path}: [study] imports must be a list of module names, like [\"my_pkg.gan_parts\"].")
    return imports


def _load_plugins(raw: dict[str, Any], path: Path) -> None:
    """``[study] imports`` first: the cases' configs may name what they register."""
    from ..base import plugins

    plugins.load(declared_imports(raw, path), [path.parent, Path.cwd()], source=f"{path}: [study] imports")


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    if loc and loc[0] == "study":
        return ", ".join(StudyMeta.model_fields)
    if loc and loc[0] == "cases":
        return "id, title, expect, rationale, base, finetune_from, set"
    if loc and loc[0] == "sweeps":
        return "id, title, expect, rationale, base, values, set"
    return "study, baseline, cases, sweeps"
