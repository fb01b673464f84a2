"""One training run: its state (data, networks, optimizers, random streams), where it starts
(fresh, resumed, fine-tuned, or ended), and when it is scored. The loop (``loop.py``) drives
it; its checkpoint is encoded by ``codec.py`` and its folder written by ``runwriter.py``.

The run folder holds ``config.json`` (the resolved config and its hashes), ``status.json``,
``metrics.jsonl``, ``samples/iter_XXXXXX.png``, ``checkpoints/last.pt`` and, when the run
ends, ``result.json``. Random streams are separate: one seeds the weights and dropout, one
draws batches and noise, and the sample grids use their own fixed noise, so how often you
log or save grids never changes training. A checkpoint holds every random state, so a run
that is interrupted and resumed ends with the same weights as one that was not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .._version import __version__
from ..base.atomic import atomic_write, write_json
from ..base.errors import GanstudyError
from ..base.status import Status
from ..data.prepare import unscale
from ..machine.cores import resolve_device
from ..models.layers import count_parameters
from ..models.losses import get as get_loss
from ..models.registry import build, latent
from ..models.registry import get as get_arch
from ..spec.config import RunConfig
from ..spec.identity import finetuned_hash
from ..tracking.registry import TrackedRun, Tracker
from . import codec
from .checkpoints import CHECKPOINT, PENDING_CHECKPOINT, drop_pending, is_whole
from .checkpoints import load as load_checkpoint
from .loop import Start, run_loop, stop_on_ctrl_c
from .optim import make_optimizers
from .phases import PhaseClock
from .runfolder import RunResult, read_result, scoring_changed
from .runwriter import RunWriter
from .sampler import Sampler, derive_seed
from .scoring import Resources, load_resources
from .steps import STAT_NAMES, GanState

__all__ = ["CHECKPOINT", "RunResult", "Trainer", "train"]  # CHECKPOINT: checkpoints.py; RunResult: runfolder.py


def summary_line(iteration: int, row: dict[str, float]) -> str:
    """The line Keras-GAN printed: ``29999 [D loss: 0.742246, acc.: 9.38%] [G loss: 0.709937]``."""
    return f"{iteration} [D loss: {row['d_loss']:f}, acc.: {100 * row['d_acc']:.2f}%] [G loss: {row['g_loss']:f}]"


class CorruptRun(GanstudyError):
    """A run folder whose checkpoint cannot be used (torn, damaged, or another config's)."""


Progress = Callable[[int, int, dict[str, float]], None]  # (iteration done, total, latest stats)


def _never() -> bool:
    return False


class Trainer:
    """Runs one config in one folder. ``run()`` starts it or resumes it from its checkpoint."""

    def __init__(self, cfg: RunConfig, out_dir: str | Path, *, data_root: str | Path | None = None,
                 device: str = "auto", progress: Progress | None = None, init_from: str | Path | None = None,
                 resources: Resources | None = None, log: Callable[[str], None] | None = None,
                 track: dict[str, Any] | None = None, should_stop: Callable[[], bool] | None = None) -> None:
        self.cfg = cfg
        #: Whether the study this run works for was asked to stop (a worker's executor passes its
        #: flag): the run then stops as on Ctrl-C, with a checkpoint, ``interrupted``.
        self.should_stop = should_stop or _never
        self.track = track or {}  # study, case and study folder, for the loggers (tracking/)
        self._tracker: Tracker | None = None
        self._track_start = 0
        self.log = log  # what the run is doing between training steps (``ganstudy train`` prints it)
        self.shared = resources  # data and scoring set-up loaded once by the caller (a seed group)
        self.dir = Path(out_dir)
        self.data_root = data_root
        self.device = resolve_device(device)
        self.progress = progress
        self.run_hash = cfg.run_hash()
        self.source_hash = ""
        self.init_from = Path(init_from) if init_from else None
        if self.init_from is not None:  # a fine-tune: its identity includes where it started
            source = self.init_from / CHECKPOINT
            if not source.is_file():
                raise GanstudyError(f"{self.init_from}: no checkpoint to fine-tune from ({source} is missing).")
            self.source_hash = json.loads((self.init_from / "config.json").read_text())["run_hash"]
            self.run_hash = finetuned_hash(self.run_hash, self.source_hash)
        self.stop_requested = False
        self.stacked_with: list[str] | None = None
        self.clock = PhaseClock()
        self.writer = RunWriter(self.dir, lambda: self.tracker)

    # ------------------------------------------------------------------ set-up
    def _build(self, own_dropout_stream: bool = False) -> None:
        """Data, networks, optimizers and random streams as the run starts. ``own_dropout_stream``
        gives the run a dropout generator of its own (seed-batched members cannot share the
        global one)."""
        cfg = self.cfg
        self.resources = self.shared or load_resources(cfg, self.data_root, self.log)
        self.data = self.resources.data
        self.loss = get_loss(cfg.loss.kind)
        torch.manual_seed(derive_seed(cfg.train.seed, "init"))  # weights, then dropout masks
        g, d = build(cfg.model, self.data.shape, self.loss.d_head)
        self.dropout_rng: torch.Generator | None = None
        if own_dropout_stream:  # continues exactly where the global stream would (CPU)
            if self.device.type == "cpu":
                self.dropout_rng = torch.Generator().set_state(torch.get_rng_state())
            else:
                self.dropout_rng = torch.Generator(self.device).manual_seed(derive_seed(cfg.train.seed, "dropout"))
        g.to(self.device)
        d.to(self.device)
        # Convolutions in channels-last layout on a CPU (oneDNN): Keras-GAN's DCGAN step 274 vs
        # 314 ms, the DCGAN preset unchanged; the same arithmetic up to rounding.
        channels_last = self.device.type == "cpu" and get_arch(cfg.model.arch).kind == "conv"
        if channels_last:
            g.to(memory_format=torch.channels_last)
            d.to(memory_format=torch.channels_last)
        opt_g, opt_d, opt_dg = make_optimizers(cfg, g, d)
        rng = torch.Generator().manual_seed(derive_seed(cfg.train.seed, "train"))
        self.state = GanState(cfg, g, d, opt_g, opt_d, opt_dg, self.loss, [rng], self.device)
        images = torch.from_numpy(self.data.train.images)
        self.sampler = Sampler(images.to(self.device), cfg, rng, self.device, channels_last)
        self.total = self.sampler.total_iterations()
        grid_rng = torch.Generator().manual_seed(cfg.eval.grid_seed)
        self.grid_noise = latent(cfg.model, cfg.eval.grid_size**2, grid_rng).to(self.device)
        self.evaluator, self.reference = self.resources.evaluator, self.resources.reference
        self.streams = codec.Streams(self.dropout_rng, self.device)

    def describe(self) -> dict[str, Any]:
        g_total, g_trainable = count_parameters(self.state.g)
        d_total, d_trainable = count_parameters(self.state.d)
        return {
            "ganstudy_version": __version__,
            "run_hash": self.run_hash,
            "config_hash": self.cfg.config_hash(),
            "config": self.cfg.model_dump(mode="json"),
            "data": self.data.description,
            "image_shape": list(self.data.shape),
            "total_iterations": self.total,
            "parameters": {"g": g_total, "g_trainable": g_trainable, "d": d_total, "d_trainable": d_trainable},
            "torch": torch.__version__,
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "finetuned_from": {"path": str(self.init_from), "run_hash": self.source_hash} if self.init_from else None,
            "seed_batched_with": self.stacked_with,  # run hashes trained with this one (the key keeps its first name: the run folder format)
        }

    # ------------------------------------------------------------------ checkpoint
    def models_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for m in (self.state.g, self.state.d) for p in m.parameters())

    def save_checkpoint(self, iteration: int, last: dict[str, float], elapsed: float, pending: bool = False) -> None:
        """Every random state with the weights (``codec.py``). A stack's member writes
        ``pending`` first; the stack commits them together (``checkpoints.py``)."""
        payload = codec.encode(self.state, self.streams, run_hash=self.run_hash, iteration=iteration, elapsed=elapsed,
                               phases=self.clock.to_json(), last=last)
        atomic_write(self.dir / (PENDING_CHECKPOINT if pending else CHECKPOINT), lambda handle: torch.save(payload, handle))

    def _load_checkpoint(self) -> tuple[int, dict[str, float], float]:
        path = self.dir / CHECKPOINT
        ckpt = load_checkpoint(path, self.device, CorruptRun)
        if ckpt.get("run_hash") != self.run_hash:
            raise CorruptRun(
                f"{path} belongs to a different config (run {ckpt.get('run_hash')}, this config is {self.run_hash}). "
                "Use another --out folder, or delete that folder to start over."
            )
        iteration, last, elapsed, phases = codec.decode(ckpt, self.state, self.streams)
        self.clock.seconds.update(phases)
        return iteration, last, elapsed

    def _start_from(self, source: Path) -> None:
        """Fine-tuning: weights and Adam moments from another run; new settings, fresh schedule."""
        try:
            codec.start_from(load_checkpoint(source, self.device), self.state)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise GanstudyError(
                f"cannot fine-tune from {source}: the new settings change the networks' shapes ({exc}). "
                "Fine-tuning keeps the architecture; change training settings (lr, schedule, loss, iterations...)."
            ) from None

    def _scoring_changed(self) -> bool:
        return scoring_changed(self.dir, self.cfg)

    def _rescore(self, finished: RunResult) -> RunResult:
        _, _, _ = self._load_checkpoint()
        finished.metrics, finished.protocol = {}, {}
        if self.cfg.eval.curve_points and self.cfg.eval.metrics:
            self.evaluate(finished.total_iterations, curve=True)
        scored = self.evaluate(finished.total_iterations, final=True)
        if scored is not None:
            finished.metrics, finished.protocol = scored["metrics"], scored["protocol"]
        finished.floor = self.resources.floor if finished.metrics else None
        write_json(self.dir / "result.json", finished.to_json())
        write_json(self.dir / "config.json", self.describe())
        return finished

    # ------------------------------------------------------------------ outputs
    def write_status(self, state: str, iteration: int, **extra: Any) -> None:
        self.writer.status(state, iteration, self.total, **extra)

    def save_samples(self, iteration: int) -> None:
        g = self.state.g
        g.eval()
        with torch.no_grad():
            images = unscale(g(self.grid_noise), self.cfg.data.scale).cpu().numpy()
        g.train()
        self.writer.samples(images, iteration, self.cfg.eval.grid_size)

    def evaluate(self, done: int, final: bool = False, curve: bool = False) -> dict[str, Any] | None:
        """Score G now (its own noise stream; G's state is left as it was) and log it to eval.jsonl.
        A point of the curve scores ``eval.curve_samples`` images (fewer, so it is cheap: one
        protocol for the whole curve, never mixed with the final score's)."""
        if self.evaluator is None:
            return None
        from .scoring import evaluate

        seed = derive_seed(self.cfg.train.seed, "eval", self.cfg.eval.seed)
        samples = min(self.cfg.eval.curve_samples, self.cfg.eval.samples) if curve else None
        scored = evaluate(self.state.g, self.cfg, self.evaluator, self.reference, seed, self.device, samples)
        self.writer.scores(done, scored, final, curve)
        return scored

    def evaluate_end(self, done: int, curve: bool) -> dict[str, Any] | None:
        """The final score, and the curve's last point if there is a curve: one generation for both."""
        if self.evaluator is None:
            return None
        from .scoring import curve_shares_final, evaluate_with_curve

        if not (curve and curve_shares_final(self.cfg.eval)):
            if curve:  # its images are not the final's first: scored on their own
                self.evaluate(done, curve=True)
            return self.evaluate(done, final=True)
        seed = derive_seed(self.cfg.train.seed, "eval", self.cfg.eval.seed)
        point, final = evaluate_with_curve(self.state.g, self.cfg, self.evaluator, self.reference, seed, self.device,
                                           min(self.cfg.eval.curve_samples, self.cfg.eval.samples))
        self.writer.scores(done, point, final=False, curve=True)
        self.writer.scores(done, final, final=True)
        return final

    def log_row(self, iteration: int, stats: list[float], elapsed: float, lrs: dict[str, float]) -> dict[str, float]:
        named = dict(zip(STAT_NAMES, stats))
        return {
            "iteration": iteration,
            "d_loss": self.cfg.train.d_loss_log_scale * (named["d_loss_real"] + named["d_loss_fake"]),
            # Keras-GAN printed 0.5 * np.add(d_loss_real, d_loss_fake), each [loss, acc]: the scale is both's
            "d_acc": self.cfg.train.d_loss_log_scale * (named["d_acc_real"] + named["d_acc_fake"]),
            **named,
            **lrs,
            "seconds": round(elapsed, 3),
        }

    # ------------------------------------------------------------------ the loop
    def prepare(self, resume: bool, own_dropout_stream: bool = False) -> Start | RunResult:
        """Build the run and find where it stands: where to start, or its result if it has ended
        (re-scored first if the scoring settings changed since)."""
        has_ckpt = (self.dir / CHECKPOINT).is_file()
        if has_ckpt and resume and not is_whole(self.dir / CHECKPOINT):  # cut short: kept aside, the run starts again
            aside = self.dir / CHECKPOINT
            aside.replace(aside.with_name(aside.name + ".damaged"))
            if self.log:
                self.log(f"{aside}: cut short or damaged; kept as {aside.name}.damaged, and the run starts again")
            has_ckpt = False
        if has_ckpt and not resume:
            raise GanstudyError(
                f"{self.dir} already holds a run. Use --resume to continue it, or choose another --out folder."
            )
        with self.clock("set-up"):
            self._build(own_dropout_stream)
            self.dir.mkdir(parents=True, exist_ok=True)
            drop_pending(self.dir)  # a group's uncommitted checkpoint (its group reconciled it first, if together)
            start = Start(0, {}, 0.0)
            if has_ckpt:
                start = Start(*self._load_checkpoint())
            elif self.init_from is not None:
                self._start_from(self.init_from / CHECKPOINT)
        self.writer.trim_logs(start.iteration, self.total)  # lines past the checkpoint (or of a start that never checkpointed) go
        finished = read_result(self.dir)
        if finished is not None and finished.status in (Status.COMPLETE, Status.DIVERGED):
            # An ended run is an outcome; resuming it trains nothing. If the scoring settings
            # changed since (eval.* is not in the run hash), it is scored again under the new ones.
            if finished.status == Status.COMPLETE and self._scoring_changed():
                finished = self._rescore(finished)
            return finished
        write_json(self.dir / "config.json", self.describe())
        self.write_status(Status.RUNNING, start.iteration)
        self._track_start = start.iteration
        return start

    @property
    def tracker(self) -> Tracker | None:
        """The run's loggers (train.loggers), made when training first logs: a Trainer that only
        looked at its folder never opens them."""
        if self._tracker is None and self.cfg.train.loggers:
            info = TrackedRun(self.track.get("study", "ganstudy-train"), self.track.get("case", self.dir.name),
                           self.cfg.train.seed, self.run_hash, self.dir,
                           Path(self.track["study_dir"]) if self.track.get("study_dir") else None,
                           self.cfg.flat(), self._track_start)
            self._tracker = Tracker(self.cfg.train.loggers, info)
        return self._tracker

    def run(self, resume: bool = False) -> RunResult:
        """Train to the end. With ``resume``, continue from the folder's checkpoint if it has one."""
        start = self.prepare(resume)
        if isinstance(start, RunResult):
            return start
        with stop_on_ctrl_c([self]):
            result = run_loop([self], self.state, [start])[0]
        self.finish(result)
        return result

    def finish(self, result: RunResult) -> None:
        result.phases = self.clock.to_json()
        if result.metrics:
            result.floor = self.resources.floor
        if result.status != Status.INTERRUPTED:  # result.json exists only for runs that ended
            write_json(self.dir / "result.json", result.to_json())
        self.write_status(result.status, result.iterations, reason=result.reason)
        if self._tracker is not None:
            self._tracker.close(result.status)

    def make_result(self, status: str, iterations: int, last: dict[str, float], t0: float, reason: str = "",
                now: float | None = None) -> RunResult:
        summary = summary_line(int(last["iteration"]), last) if last else ""
        wall = (now if now is not None else time.perf_counter()) - t0
        return RunResult(status, iterations, self.total, last, round(wall, 3), self.run_hash, summary, reason)


def train(cfg: RunConfig, out_dir: str | Path, **kwargs: Any) -> RunResult:
    """Train ``cfg`` in ``out_dir`` (see :class:`Trainer`); ``resume=True`` continues a run."""
    resume = kwargs.pop("resume", False)
    return Trainer(cfg, out_dir, **kwargs).run(resume=resume)
