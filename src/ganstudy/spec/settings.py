"""A study file's ``[study]`` table: its name, the seeds (fixed, or adaptive with the
baseline's share), the metric verdicts are about, alpha, the error control across cases,
pairing, futility; and the statistical design they make for a number of compared cases."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..stats.design import BASELINE_SHARE, Design

#: The most seeds a case may get, however they are given (a count, a list, adaptive, --seeds,
#: --max-seeds, add-seeds): past it a study is a typo, not a plan (200 seeds of 12 cases is
#: already 3,600 runs).
MAX_SEEDS = 200
#: A study's name becomes part of file names (``promote`` writes ``<name>-v2.toml``) and
#: trackers' experiment names: plain characters only, no separators, no ``..``.
MAX_NAME = 80
STUDY_NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_NAME - 1}}}$")


class SeedRange(BaseModel):
    """Adaptive seeds: every case starts with ``min``; only the cases still undecided (and the
    baseline) get more, look by look, up to ``max``."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    min: int = Field(3, ge=2, le=MAX_SEEDS, description="seeds every case gets")
    max: int = Field(10, le=MAX_SEEDS, description=f"the most seeds an undecided case gets (at most {MAX_SEEDS})")
    baseline: float | None = Field(None, ge=1, le=4, description=(
        "the baseline's seeds at each analysis, as a multiple of the cases' (it is compared with every case); "
        f"unset: {BASELINE_SHARE:g} with two or more cases, 1 with one; always 1 when seeds pair"))

    @model_validator(mode="after")
    def _order(self) -> SeedRange:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be at least min ({self.min})")
        return self

    def baseline_share(self, cases: int, pairing: str) -> float:
        """The baseline's share of a look's seeds (Dunnett: about sqrt(cases) is best; 1 case gains nothing)."""
        if pairing == "seed":
            return 1.0
        return self.baseline if self.baseline is not None else (BASELINE_SHARE if cases >= 2 else 1.0)


class StudyMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    name: str = Field(description="1-80 ASCII letters, digits, '-', '_', '.' (it becomes part of file names)")
    description: str = ""
    seeds: int | list[int] | SeedRange = Field(
        default_factory=SeedRange,
        description="a count (seeds 0..N-1), an explicit list, or { min = 3, max = 10 } (adaptive, the default)")
    metric: str = "fid"
    equivalence: float = Field(0.05, gt=0, lt=1, description="relative band inside which a change has no effect")
    equivalence_abs: float | None = Field(None, gt=0, description="the band in metric units (instead of relative)")
    alpha: float = Field(0.05, gt=0, le=0.2, description="error rate of the verdicts")
    error_control: Literal["holm", "fdr"] = Field(
        "holm", description="across cases: holm (family-wise error) or fdr (Benjamini-Hochberg)")
    pairing: Literal["none", "seed"] = Field(
        "none", description="none (two samples; GAN seeds barely pair) or seed (declared: same seeds pair)")
    futility: bool = Field(True, description="adaptive seeds: a case that cannot be decided by max stops early")
    imports: list[str] = Field(
        default_factory=list, description="modules that register your models, losses, data sets or metrics "
        "(imported in the driver and in every worker before a config is resolved)")

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds_shape(cls, value: Any) -> Any:
        """One clear message for each way of giving seeds (not pydantic's three-way union)."""
        if isinstance(value, dict):
            try:
                return SeedRange.model_validate(value)
            except ValidationError as exc:
                problems = []
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"])
                    msg = "unknown key; allowed: min, max, baseline" if err["type"] == "extra_forbidden" else \
                        err["msg"].removeprefix("Value error, ")
                    problems.append(f"{where}: {msg}" if where else msg)
                raise ValueError("seeds = { min, max }: " + "; ".join(problems)) from None
        if isinstance(value, bool) or not isinstance(value, (int, list, SeedRange)):
            raise ValueError("seeds must be a count (seeds = 6), a list of seeds (seeds = [0, 1, 2]) or adaptive "
                             "seeds (seeds = { min = 3, max = 10 })")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not STUDY_NAME.match(value) or ".." in value:
            raise ValueError(f"{value[:100]!r}: a study's name is 1-80 ASCII letters, digits, '-', '_' and '.', "
                             "starting with a letter or digit, without '..' (it becomes part of file names)")
        return value

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: int | list[int] | SeedRange) -> int | list[int] | SeedRange:
        if isinstance(value, int) and not 1 <= value <= MAX_SEEDS:
            raise ValueError(f"seeds must be from 1 to {MAX_SEEDS} (got {value})")
        if isinstance(value, list):
            if not value or len(set(value)) != len(value) or min(value) < 0 or max(value) >= 2**31:
                raise ValueError("a list of seeds must be non-empty, distinct, and each from 0 to 2^31 - 1")
            if len(value) > MAX_SEEDS:
                raise ValueError(f"a list of seeds holds at most {MAX_SEEDS} (got {len(value)})")
        return value

    @model_validator(mode="after")
    def _paired_baseline(self) -> StudyMeta:
        if self.pairing == "seed" and isinstance(self.seeds, SeedRange) and self.seeds.baseline not in (None, 1):
            raise ValueError('seeds.baseline: with pairing = "seed" seeds meet one to one; remove it (or set 1)')
        return self

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        from ..metrics.registry import names

        if value not in names():
            raise ValueError(f"unknown metric {value!r}; allowed: {', '.join(names())}")
        return value

    @property
    def adaptive(self) -> bool:
        return isinstance(self.seeds, SeedRange)

    def seed_list(self, cases: int) -> list[int]:
        """Every seed a study of ``cases`` compared cases may use, in order (an adaptive baseline's share of max)."""
        if isinstance(self.seeds, SeedRange):
            return list(range(self.design(cases).baseline_seeds(self.seeds.max)))
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def design(self, cases: int) -> Design:
        """The design for ``cases`` compared cases: looks, the baseline's share, error rate and controls."""
        options = {"alpha": self.alpha, "error_control": self.error_control, "pairing": self.pairing,
                   "futility": self.futility}
        if isinstance(self.seeds, SeedRange):
            return Design.adaptive(self.seeds.min, self.seeds.max,
                                   baseline_share=self.seeds.baseline_share(cases, self.pairing), **options)
        return Design.fixed(len(self.seed_list(cases)), **options)

    def seeds_text(self, cases: int) -> str:
        if not isinstance(self.seeds, SeedRange):
            return str(self.seed_list(cases))
        d = self.design(cases)
        base = "" if d.baseline_share == 1 else f"; the baseline {d.baseline_looks[0]} to {d.baseline_looks[-1]}"
        return f"{self.seeds.min} to {self.seeds.max} a case (adaptive{base})"
