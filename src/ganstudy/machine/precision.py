"""Where bf16 pays: what the machine's arithmetic can do in bfloat16.

``train.precision = "bf16"`` runs the training step under autocast (see ``loop.autocast``).
It pays where the hardware multiplies bf16 natively: GPUs from Ampere on, and CPUs with
AVX512-BF16 or AMX. Measured on a 2-core AMD EPYC with AVX512-BF16 (no AMX), one thread:
the conv steps 1.55-1.80x faster, the MLP 1.14x (``benchmarks/precision_speed.py``). Without
those instructions bf16 is emulated and slower; ``ganstudy plan`` says which.
``studies/precision-check.toml`` found no effect on the quickstart MLP's FID at 30 seeds
(docs/precision.md). It is opt-in, never chosen for the user: a run's identity would then
depend on the machine it trained on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def bf16_native(device: str = "cpu") -> tuple[bool, str]:
    """(does this device multiply bf16 natively, how it is known)."""
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return torch.cuda.is_bf16_supported(), torch.cuda.get_device_name()
        device = "cpu"
    found = [f for f in BF16_FLAGS if f in cpu_flags()]
    if found:
        return True, "this CPU has " + " and ".join(f.upper().replace("_", "-") for f in found)
    return False, "this CPU has neither AMX nor AVX512-BF16: bf16 is emulated there and slower than fp32"


def plan_line(precisions: dict[str, str], device: str = "cpu") -> str:
    """``ganstudy plan``'s line: which cases train in which precision, and whether bf16 pays here."""
    bf16 = [case for case, p in precisions.items() if p == "bf16"]
    if not bf16:
        return "precision: fp32 for every case (train.precision = \"bf16\" trains faster where the hardware has bf16)"
    native, why = bf16_native(device)
    who = "every case" if len(bf16) == len(precisions) else f"{', '.join(bf16)} (the others fp32)"
    return f"precision: bf16 for {who}; {why}" + ("" if native else " (WARNING)")
