"""The identity of a run: which of its resolved keys are hashed, and how.

Two runs with equal training keys compute the same thing, so they share one hash and one
run folder; a study runs nothing new for a case that differs from the baseline only in
presentation. Old runs keep their identity through changes to the code: a key added later
is left out at the value that reproduces what ran before it, a key renamed is read by its
old name too, and a value whose training changed carries a revision."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: Keys that change what is shown or how runs are executed, never what is computed (seed
#: batching changes only floating-point rounding). They are left out of the run hash, so a
#: case that differs from the baseline only here runs nothing new.
PRESENTATION_KEYS = frozenset(
    {
        "train.log_every",
        "train.sample_every",
        "train.checkpoint_every",
        "train.d_loss_log_scale",
        "train.stack",
        "train.loggers",
    }
)
#: Sections left out of the run hash as a whole: evaluation never changes training.
PRESENTATION_SECTIONS = frozenset({"eval"})

#: Bump when the meaning of an existing key changes, so old run hashes are not reused.
HASH_SCHEMA = 1
#: Values whose training changed after runs were hashed with them: a run at such a value
#: carries the revision in its hash, so runs trained before the change are trained again,
#: never mixed with new ones (the rest keep their identity). bf16 (2): autocast's weight cache
#: was on, so inside a step the passes after D's update used D's weights from before it.
REVISIONS: dict[tuple[str, Any], int] = {("train.precision", "bf16"): 2}
#: Keys added after runs were first hashed, with the value that reproduces what ran before
#: them: at that value (or unset) they are left out of the hash, so existing runs keep their
#: identity; any other value is a different run.
LATER_KEYS = {
    "model.noise": "normal",
    "model.conv_bias": True,
    "train.g_fresh_noise": False,
    "train.d_loss_sum": False,
    "optim.milestone_after": False,
    "data.image_size": None,
    "train.precision": "fp32",
}

#: Keys renamed after runs were written with them: the old name is read as the new one by
#: ``layers.build_config``, which every saved config passes through (study files, --set, the
#: study folder's copies, a run's config.json); both are presentation keys, so no hash moves.
RENAMED_KEYS = {"train.vectorize_seeds": "train.stack"}


def training_keys(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a resolved flat config that change the computation (what the run hash covers)."""
    keys = {
        key: value
        for key, value in flat.items()
        if key not in PRESENTATION_KEYS and key.split(".", 1)[0] not in PRESENTATION_SECTIONS
        and not (key in LATER_KEYS and value in (LATER_KEYS[key], None))
    }
    for (key, value), revision in REVISIONS.items():
        if keys.get(key) == value:
            keys[f"{key}@revision"] = revision
    return keys


def digest(keys: Mapping[str, Any]) -> str:
    payload = json.dumps({"schema": HASH_SCHEMA, "keys": keys}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def finetuned_hash(own: str, source: str) -> str:
    """A fine-tune's run hash: its config's run hash and the hash of the run it starts from."""
    return hashlib.sha256(f"{own}:{source}".encode()).hexdigest()[:16]
