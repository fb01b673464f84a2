"""The cores a process may use, and how many of them are free now.

A torch process that asks for more threads than there are free cores does not slow a
little, it collapses: its threads wait at every barrier for the one that was descheduled
(a 2-thread step measured 932 ms beside other work, against 55.6 ms at one thread). So a
lone ``ganstudy train`` takes the cores that are idle when it starts, and a study runs one
single-threaded process a core. The cores are those of the process's CPU affinity (a
container's or ``taskset``'s limit), not the machine's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

BUSY = 0.5  # a core busy more than half of the sample is taken


def allowed() -> list[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _times() -> dict[int, tuple[int, int]]:
    """Per CPU: (busy jiffies, all jiffies) since boot, from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            values = [int(v) for v in fields[:8]]
            idle = values[3] + values[4]  # idle + iowait
            out[int(name[3:])] = (sum(values) - idle, sum(values))
    return out


def free_cores(sample: float = 0.25) -> tuple[int, int]:
    """(cores of this process's affinity that were mostly idle over ``sample`` seconds, all of
    them). Without /proc/stat every allowed core counts as free."""
    cpus = allowed()
    try:
        before = _times()
        time.sleep(sample)
        after = _times()
    except (OSError, ValueError):
        return len(cpus), len(cpus)
    free = 0
    for cpu in cpus:
        if cpu in before and cpu in after:
            busy, total = (a - b for a, b in zip(after[cpu], before[cpu]))
            free += total <= 0 or busy / total < BUSY
        else:
            free += 1
    return max(1, free), len(cpus)
