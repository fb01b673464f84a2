"""Small formatting helpers shared by the markdown and HTML reports."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def num(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value != 0 and (abs(value) >= 10**5 or abs(value) < 10 ** -(digits - 1)):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def median_range(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return num(values[0])
    return f"{num(float(np.median(values)))} [{num(min(values))}-{num(max(values))}]"


def diff_ci(diff: float | None, low: float | None, high: float | None) -> str:
    """'+12.3 [4.5, 20.1]' ('-' where no test gave one)."""
    if diff is None or math.isnan(diff):
        return "-"
    sign = "+" if diff > 0 else ""
    return f"{sign}{num(diff)} [{num(low)}, {num(high)}]"


def losses(finals: list[dict[str, float]]) -> str:
    """Median final losses over seeds, as the write-up printed them: 'D 0.742 / acc 9.4% / G 0.710'."""
    finals = [f for f in finals if f]
    if not finals:
        return "-"
    med = {k: float(np.median([f[k] for f in finals if k in f])) for k in ("d_loss", "d_acc", "g_loss")}
    return f"D {med['d_loss']:.3f} / acc {100 * med['d_acc']:.1f}% / G {med['g_loss']:.3f}"


def p_value(p: float | None) -> str:
    return "-" if p is None or math.isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def value_repr(value: Any) -> str:
    import json

    return json.dumps(value)


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe, as OWASP advises against formula injection. Numbers stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
