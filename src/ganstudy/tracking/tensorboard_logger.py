"""TensorBoard: event files in the run's folder (``<run>/tensorboard``), so they travel with
it (Ray without a shared file system) and ``tensorboard --logdir <study>/runs`` shows every
run as ``case/seed-hash``. A resumed run purges what it logged past its checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .registry import LoggerSpec, TrackedRun, register


class TensorBoardLogger:
    def __init__(self, info: TrackedRun) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(info.run_dir / "tensorboard"), purge_step=info.start or None)
        if not info.start:
            lines = [f"study {info.study}, case {info.case}, seed {info.seed}, run {info.run_hash}", ""]
            lines += [f"    {k} = {v!r}" for k, v in info.config.items()]
            self.writer.add_text("config", "\n".join(lines), 0)

    def scalars(self, step: int, values: dict[str, float], prefix: str = "") -> None:
        for key, value in values.items():
            self.writer.add_scalar(f"{prefix}{key}", value, step)

    def image(self, step: int, tag: str, png: Path) -> None:
        from PIL import Image

        with Image.open(png) as img:
            array = np.asarray(img.convert("RGB"))
        self.writer.add_image(tag, array, step, dataformats="HWC")

    def close(self, status: str) -> None:
        self.writer.add_text("status", status)
        self.writer.close()


register(LoggerSpec("tensorboard", TensorBoardLogger, ("tensorboard",), 'pip install -e ".[tensorboard]"'))
