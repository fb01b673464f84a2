"""Training speed against a plain PyTorch reference loop, in one process and one run.

(a) the references: Keras-GAN's MLP GAN written as the best plain eager PyTorch loop
    (torch's default init; fused Adam; D frozen while G steps through it), in each step style: ``pytorch`` (one D step on real and
    fake, G step reusing the fakes) and ``keras`` (gan.py's three updates);
(b) ganstudy's single-run step in both step styles, same model and batch size;
(c) seed-batched training of S = 1, 3, 5 seeds as one model, both step styles;
(d) on a CPU with several threads: the whole machine as ``ganstudy run --workers N`` uses it,
    N single-threaded processes each training one run, or the largest S seed-batched (timed
    after the table, against the same reference median).

Every variant is built first, then timed in interleaved rounds (reference, variant,
reference, ...) and the median round is kept, so a noisy machine moves all of them alike;
ratios are against the reference's median in the same run. Prints ms per iteration,
iterations/s per seed, total seed-iterations/s, the ratio, and the peak memory of a fresh
process that builds and runs only that variant (resident set on a CPU; CUDA peak allocated
on a GPU). Usage:

    python benchmarks/training_speed.py [--iterations 40] [--rounds 7] [--batch 32] [--threads 2]
                                        [--device cpu|cuda|all] [--seeds 1 3 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ganstudy.data.prepare import scale as scale_images
from ganstudy.spec.layers import load_config
from ganstudy.spec.study import with_seed
from ganstudy.training.loop import real_batches
from ganstudy.training.scoring import load_resources
from ganstudy.training.stack import batched_state
from ganstudy.training.steps import STEP_STYLES, GanState
from ganstudy.training.trainer import Trainer


def reference_models() -> tuple[nn.Module, nn.Module]:
    g = nn.Sequential(
        nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.BatchNorm1d(256, momentum=0.2),
        nn.Linear(256, 512), nn.LeakyReLU(0.2), nn.BatchNorm1d(512, momentum=0.2),
        nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.BatchNorm1d(1024, momentum=0.2),
        nn.Linear(1024, 784), nn.Tanh(),
    )
    d = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 1), nn.Sigmoid())
    return g, d


def reference_step(images: torch.Tensor, batch: int, device: torch.device, style: str = "pytorch") -> Callable[[], None]:
    """The plain loop's iteration, ready to call: ``pytorch`` (one D step on real and fake, G
    reusing the fakes) or ``keras`` (Keras-GAN's gan.py ported plainly: D steps on a real
    batch, then on fakes from G in eval mode, then G steps through D on fresh noise)."""
    torch.manual_seed(0)
    g, d = (m.to(device) for m in reference_models())
    # The best plain loop, not the first one a user writes: fused Adam (one kernel per network),
    # and D's weights frozen while G steps through it (no gradients computed for them).
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    bce = nn.BCELoss()
    ones, zeros = torch.ones(batch, 1, device=device), torch.zeros(batch, 1, device=device)
    images = images.to(device)

    def keras_step() -> None:
        real = images[torch.randint(0, len(images), (batch,), device=device)]
        g.eval()
        with torch.no_grad():
            fake = g(torch.randn(batch, 100, device=device))
        g.train()
        for x, target in ((real, ones), (fake, zeros)):
            d_loss = bce(d(x), target)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        d.requires_grad_(False)
        g_loss = bce(d(g(torch.randn(batch, 100, device=device))), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        d.requires_grad_(True)
        g_loss.item()

    def step() -> None:
        real = images[torch.randint(0, len(images), (batch,), device=device)]
        fake = g(torch.randn(batch, 100, device=device))
        d_loss = 0.5 * (bce(d(real), ones) + bce(d(fake.detach()), zeros))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        d.requires_grad_(False)
        g_loss = bce(d(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        d.requires_grad_(True)
        g_loss.item()  # Keras-GAN prints the losses every iteration (and ganstudy reads them every iteration)

    return keras_step if style == "keras" else step


def ganstudy_step(style: str, seeds: int | None, batch: int, device: str, tmp: Path) -> Callable[[], None]:
    """ganstudy's iteration: one run (``seeds`` None) or ``seeds`` seed-batched runs."""
    return ganstudy_step_state(style, seeds, batch, device, tmp)[0]


def ganstudy_step_state(style: str, seeds: int | None, batch: int, device: str,
                        tmp: Path) -> tuple[Callable[[], None], GanState]:
    """ganstudy's iteration, ready to call, and the state it steps."""
    cfg = load_config(None, ["data.dataset=mnist-mini", "data.split=test", f"train.step_style={style}",
                             f"train.batch_size={batch}", "eval.metrics=[]"])
    resources = load_resources(cfg, None)
    runs = []
    for seed in range(seeds or 1):
        run = Trainer(with_seed(cfg, seed), tmp / f"{style}-{seeds}-{seed}", device=device, resources=resources)
        run._build(own_dropout_stream=seeds is not None)
        runs.append(run)
    step = STEP_STYLES[style]
    state = runs[0].state if seeds is None else batched_state(runs)
    assert state is not None
    real_batch = real_batches([r.sampler for r in runs], state)

    def one() -> None:
        step(state, real_batch).tolist()  # the loop reads the losses every iteration

    return one, state


# A variant: (row name, "reference-<style>" or step style, seeds batched or None for one run).
Variant = tuple[str, str, int | None]
REFERENCES = {"pytorch": "plain PyTorch reference, pytorch style", "keras": "plain PyTorch reference, keras style"}


def variants(seeds: list[int]) -> list[Variant]:
    rows: list[Variant] = [(name, f"reference-{style}", None) for style, name in REFERENCES.items()]
    rows += [(f"ganstudy one run, {style} style", style, None) for style in ("pytorch", "keras")]
    rows += [(f"ganstudy {s} seeds batched, {style}", style, s) for style in ("pytorch", "keras") for s in seeds]
    return rows


def make_step(variant: Variant, batch: int, device: torch.device, tmp: Path) -> Callable[[], None]:
    _, kind, seeds = variant
    if kind.startswith("reference-"):
        from ganstudy.data.prepare import load_training_data
        from ganstudy.spec.config import DataConfig

        data = load_training_data(DataConfig(dataset="mnist-mini", split="test"))
        images = scale_images(torch.from_numpy(data.train.images), "minus_one_one").flatten(1)
        return reference_step(images, batch, device, kind.split("-", 1)[1])
    return ganstudy_step(kind, seeds, batch, str(device), tmp)


def _memory_of(variant: Variant, batch: int, device: str, threads: int) -> float:
    """Peak memory of a fresh process that builds only ``variant`` and runs 20 iterations."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    with tempfile.TemporaryDirectory() as tmp:
        step = make_step(variant, batch, dev, Path(tmp))
        for _ in range(20):
            step()
    if dev.type == "cuda":
        return torch.cuda.max_memory_allocated(dev) / 2**20
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """This process's peak resident set. VmHWM, not getrusage: ru_maxrss carries over the
    parent's high-water mark into a spawned child (Linux records it at exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: an upper bound


def _timed_in_worker(variant: Variant, batch: int, iterations: int, start: object) -> float:
    """One process of the whole-machine row: one thread; seconds per iteration."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        step = make_step(variant, batch, torch.device("cpu"), Path(tmp))
        for _ in range(10):
            step()
        start.wait()  # type: ignore[attr-defined]  # all processes time the same stretch
        t0 = time.perf_counter()
        for _ in range(iterations):
            step()
        return (time.perf_counter() - t0) / iterations


def _pool(processes: int):  # noqa: ANN202
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    return ctx, ProcessPoolExecutor(processes, mp_context=ctx, max_tasks_per_child=1)


def whole_machine(variant: Variant, processes: int, args: argparse.Namespace) -> float:
    """Seed-iterations/s of ``processes`` single-threaded processes each training ``variant``:
    how ``ganstudy run --workers N`` uses an N-core machine."""
    ctx, pool = _pool(processes)
    start = ctx.Manager().Barrier(processes)
    with pool:
        futures = [pool.submit(_timed_in_worker, variant, args.batch, args.iterations * args.rounds, start)
                   for _ in range(processes)]
        return sum((variant[2] or 1) / f.result() for f in futures)


def bench(device: torch.device, args: argparse.Namespace) -> None:
    rows = variants(args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        steps = {row[0]: make_step(row, args.batch, device, Path(tmp)) for row in rows}
        for step in steps.values():  # warm-up
            for _ in range(10):
                step()
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                for _ in range(args.iterations):
                    step()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                times[name].append((time.perf_counter() - t0) / args.iterations)
    ref = {style: statistics.median(times[name]) for style, name in REFERENCES.items()}
    _, pool = _pool(1)
    with pool:
        memory = {row[0]: pool.submit(_memory_of, row, args.batch, str(device), args.threads).result() for row in rows}
    machine = []
    if device.type == "cpu" and args.threads > 1:
        biggest = max(args.seeds)
        for style in ("pytorch", "keras"):
            for seeds in (None, biggest):
                what = f"{biggest} seeds batched" if seeds else "one run"
                row = (f"whole machine: {args.threads} procs x {what}, {style}", style, seeds)
                machine.append((row[0], style, whole_machine(row, args.threads, args)))
    where = f"{args.threads} CPU threads" if device.type == "cpu" else torch.cuda.get_device_name(device)
    print(f"\nKeras-GAN MLP (G 1.49M, D 0.53M parameters), batch {args.batch}, {where}; "
          f"median of {args.rounds} rounds x {args.iterations} iterations")
    kind = "peak RSS MiB" if device.type == "cpu" else "CUDA peak MiB"
    print("x ref: total seed-iterations/s over the plain reference of the same step style")
    print(f"{'':52s} {'ms/it':>8s} {'it/s/seed':>10s} {'seed-it/s':>10s} {'x ref':>7s} {kind:>13s}")
    for name, kind_, seeds in rows:
        t = statistics.median(times[name])
        spread = (max(times[name]) - min(times[name])) / t
        style = kind_.removeprefix("reference-")
        print(f"{name:52s} {1000 * t:8.2f} {1 / t:10.1f} {(seeds or 1) / t:10.1f} {(seeds or 1) * ref[style] / t:7.2f} "
              f"{memory[name]:13.0f}   (rounds vary {100 * spread:.0f}%)")
    for name, style, rate in machine:
        print(f"{name:52s} {'':8s} {'':10s} {rate:10.1f} {rate * ref[style]:7.2f}   "
              "(1 thread each, timed after the table)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=40, help="iterations per timed round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all",
                        help="all: the CPU, then CUDA if a GPU is present")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    for name in devices:
        if name == "cuda" and not torch.cuda.is_available():
            print("\n(no CUDA device here: CUDA rows skipped)")
            continue
        bench(torch.device(name), args)


if __name__ == "__main__":
    main()
