"""Config layers: TOML files, a study's sections and ``--set`` overrides merged into one
:class:`~ganstudy.spec.config.RunConfig`, with errors that name the file, the key and what is allowed.

A layer is flat dotted keys (``{"optim.lr": 0.001}``) and where each came from: defaults in
code, then a config file or a study's baseline, then a case's changes, then ``--set``. An
unknown key gets a "did you mean"; a bad value, pydantic's reason in one line per key.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..base.errors import ConfigError
from .config import RunConfig, flatten, unflatten
from .identity import RENAMED_KEYS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def all_keys() -> list[str]:
    """Every valid dotted key."""
    keys = []
    for section, field in RunConfig.model_fields.items():
        sub = field.annotation
        keys += [f"{section}.{name}" for name in sub.model_fields]  # type: ignore[union-attr]
    return keys


def key_help() -> list[tuple[str, Any, str]]:
    """(key, default, description) for every key, for ``ganstudy keys``."""
    rows = []
    defaults = RunConfig().flat()  # the mlp preset fills the architecture-dependent keys
    for section, field in RunConfig.model_fields.items():
        sub = field.annotation
        for name, info in sub.model_fields.items():  # type: ignore[union-attr]
            rows.append((f"{section}.{name}", defaults[f"{section}.{name}"], info.description or ""))
    return rows


@dataclass(frozen=True)
class Layer:
    """Flat keys from one source ("study.toml [baseline]", "--set", ...)."""

    source: str
    keys: Mapping[str, Any]


#: Names users reach for, and the key they mean (matched on the last part of a key).
SYNONYMS = {
    "learning_rate": "lr", "learningrate": "lr", "batchsize": "batch_size", "batch": "batch_size",
    "latent": "latent_dim", "latent_size": "latent_dim", "z_dim": "latent_dim", "iters": "iterations",
    "steps": "iterations", "n_iter": "iterations", "dropout": "d_dropout", "momentum": "bn_momentum",
    "loss": "kind", "architecture": "arch", "normalize": "scale", "normalization": "scale",
}


def suggest_key(key: str) -> str | None:
    """The valid key a user most likely meant by ``key``."""
    valid = all_keys()
    section, _, leaf = key.rpartition(".")
    leaf = SYNONYMS.get(leaf, leaf)
    in_section = [k for k in valid if k.startswith(section + ".")] if section else []
    for pool in (in_section, valid):
        leaves = {k.rsplit(".", 1)[1]: k for k in pool}
        if leaf in leaves:
            return leaves[leaf]
        close = difflib.get_close_matches(leaf, list(leaves), n=1, cutoff=0.6)
        if close:
            return leaves[close[0]]
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return close[0] if close else None


def renamed(layer: Layer) -> Layer:
    """The layer with keys renamed since (``identity.RENAMED_KEYS``) under their new names."""
    if not any(key in RENAMED_KEYS for key in layer.keys):
        return layer
    return Layer(layer.source, {RENAMED_KEYS.get(key, key): value for key, value in layer.keys.items()})


def check_keys(layer: Layer) -> None:
    """Unknown keys are errors with a 'did you mean' hint."""
    valid = set(all_keys())
    for key in layer.keys:
        if key in valid:
            continue
        hint = suggest_key(key)
        did_you_mean = f" Did you mean '{hint}'?" if hint else ""
        sections = ", ".join(RunConfig.model_fields)
        raise ConfigError(
            f"{layer.source}: unknown key '{key}'.{did_you_mean} Keys are 'section.name' with section one of "
            f"{sections}; `ganstudy keys` lists them all."
        )


def build_config(layers: Iterable[Layer]) -> RunConfig:
    """Merge layers (later wins) and validate. Errors name the key and the layer it came from."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for layer in layers:
        layer = renamed(layer)
        check_keys(layer)
        for key, value in layer.keys.items():
            merged[key] = value
            origin[key] = layer.source
    try:
        return RunConfig.model_validate(unflatten(merged))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin)) from None


def format_validation_error(exc: ValidationError, origin: Mapping[str, str]) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        # Drop union-member and list-index parts to find the user's key.
        key = ".".join(loc[:2]) if len(loc) >= 2 else ".".join(loc)
        msg = err["msg"].removeprefix("Value error, ")
        named = re.match(r"([a-z]+\.[a-z_0-9]+)\b", msg)
        if len(loc) == 1 and named and named.group(1) in origin:  # a section check that names its key
            key, loc = named.group(1), named.group(1).split(".")
            msg = msg[len(key):].lstrip(": ")
        source = origin.get(key)
        if source is None:  # a whole-section check: blame the layers that touched that section
            section = loc[0] if loc else ""
            sources = sorted({s for k, s in origin.items() if k.startswith(section + ".")})
            source = " / ".join(sources) or "defaults"
            where = f"{source}: [{section}]" if len(loc) == 1 else f"{source}: {key}"
        else:
            where = f"{source}: {key}"
        if "input" in err and len(loc) >= 2 and err["type"] not in ("value_error",):
            msg = f"{msg} (got {err['input']!r})"
        lines.append(f"{where}: {msg}")
    unique = list(dict.fromkeys(lines))
    return "Invalid config. " + " ".join(unique)


def parse_value(text: str) -> Any:
    """A ``--set`` value as a TOML literal; a bare word is a string (``data.dataset=mnist``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(items: Iterable[str], source: str = "--set") -> Layer:
    keys: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{source} {item!r}: expected KEY=VALUE, for example --set optim.lr=0.001")
        keys[key.strip()] = parse_value(value.strip())
    return Layer(source, keys)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc}).") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}.") from None


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> RunConfig:
    """A run config from an optional TOML file (sections data, model, ...) and ``--set`` items."""
    layers = []
    if path is not None:
        tree = load_toml(path)
        for section in tree:  # an empty table has no keys for check_keys to see
            if section not in RunConfig.model_fields:
                hint = difflib.get_close_matches(section, list(RunConfig.model_fields), n=1)
                raise ConfigError(f"{path}: unknown section [{section}]." + (f" Did you mean [{hint[0]}]?" if hint else "")
                                  + f" Sections: {', '.join(RunConfig.model_fields)}.")
        layers.append(Layer(str(path), flatten(tree)))
    layers.append(parse_overrides(overrides))
    return build_config(layers)


def config_from_json(flat_or_tree: Mapping[str, Any]) -> RunConfig:
    """Rebuild a config saved in a run folder (config.json)."""
    tree = flat_or_tree.get("config", flat_or_tree)
    return build_config([Layer("config.json", flatten(tree))])
