"""The cores a process may use, and how many of them are free now.

A torch process that asks for more threads than there are free cores does not slow a
little, it collapses: its threads wait at every barrier for the one that was descheduled
(a 2-thread step measured 932 ms beside other work, against 55.6 ms at one thread). So a
lone ``ganstudy train`` takes the cores that are idle when it starts, and a study runs one
single-threaded process a core. The cores are those of the process's CPU affinity (a
container's or ``taskset``'s limit), not the machine's. The same holds for numpy's BLAS,
which scoring uses (KID's kernels, the covariances of the Fréchet distance): :func:`use_threads`
sets both; :func:`resolve_device` says which device a run computes on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

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


def _own_jiffies() -> int:
    """CPU time this process has used (all its threads), in /proc/stat's units."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


class CoreSample:
    """How busy the cores are with other work, sampled from now until :meth:`free` is called:
    a lone run starts the sample before its imports and reads it after them, so the sample
    costs no time unless they took less than the sample needs. The process's own CPU time
    (the imports) is taken out of what it sees."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        try:
            self.before: tuple[dict[int, tuple[int, int]], int] | None = (_times(), _own_jiffies())
        except (OSError, ValueError, IndexError):
            self.before = None

    def free(self, sample: float = 0.25) -> tuple[int, int]:
        """(cores of this process's affinity left free by other work over at least ``sample``
        seconds, all of them). Without /proc/stat every allowed core counts as free."""
        cpus = allowed()
        if self.before is None:
            return len(cpus), len(cpus)
        time.sleep(max(0.0, sample - (time.monotonic() - self.started)))
        try:
            after, own_after = _times(), _own_jiffies()
        except (OSError, ValueError, IndexError):
            return len(cpus), len(cpus)
        before, own_before = self.before
        busy = total = 0
        for cpu in cpus:
            if cpu in before and cpu in after:
                busy += after[cpu][0] - before[cpu][0]
                total += after[cpu][1] - before[cpu][1]
        if total <= 0:
            return len(cpus), len(cpus)
        others = max(0, busy - (own_after - own_before)) / (total / len(cpus))  # cores' worth of other work
        return max(1, len(cpus) - int(others + 1 - BUSY)), len(cpus)  # a core busy over half the time is taken


def use_threads(n: int) -> int:
    """Compute with ``n`` threads: torch's and the BLAS libraries' loaded now (numpy's OpenBLAS
    starts a thread per core otherwise: two processes scoring at once on 2 cores took 5.3-5.6 s
    each for what took 1.75 s at one BLAS thread). Returns torch's thread count before."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    threadpool_limits(n, user_api="blas")  # stays in force (not used as a context manager)
    return before


def resolve_device(name: str) -> torch.device:
    """The device a run trains on: ``auto`` (CUDA when there is one), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    from ..base.errors import GanstudyError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GanstudyError("--device cuda: no CUDA device is available here; use --device cpu or auto.")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise GanstudyError(f"--device {name!r}: use auto, cpu or cuda.")
    return torch.device(name)


def available_memory() -> int | None:
    """Bytes of memory a new allocation can have now (Linux's MemAvailable: free plus what the
    kernel can reclaim), the physical memory elsewhere; None where neither can be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
