"""Training speed of one run against a plain PyTorch reference loop, in one process.

(a) the reference: Keras-GAN's MLP GAN written simply, as a user would in eager PyTorch
    (torch default init and Adam settings aside from lr/betas, one D step on real+fake,
    G step reusing the fakes);
(b) ganstudy's training step in both step styles, on the same model and batch size.

Prints ms/iteration, iterations/s, the ratio to the reference, and the peak resident
memory of the process. Usage:

    python benchmarks/training_speed.py [--iterations 300] [--batch 32] [--threads 2]

Seed-batched training (issue 8, part 2) is not implemented yet; its rows will go here.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import torch
from torch import nn

from ganstudy.config import load_config
from ganstudy.train import Trainer


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


def reference_loop(images: torch.Tensor, iterations: int, batch: int) -> float:
    """The plain loop; returns seconds per iteration."""
    torch.manual_seed(0)
    g, d = reference_models()
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCELoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step() -> None:
        real = images[torch.randint(0, len(images), (batch,))]
        fake = g(torch.randn(batch, 100))
        d_loss = 0.5 * (bce(d(real), ones) + bce(d(fake.detach()), zeros))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = bce(d(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()

    for _ in range(20):
        step()
    t0 = time.perf_counter()
    for _ in range(iterations):
        step()
    return (time.perf_counter() - t0) / iterations


def ganstudy_step(style: str, iterations: int, batch: int) -> float:
    cfg = load_config(None, ["data.dataset=mnist-mini", "data.split=test", f"train.step_style={style}",
                             f"train.batch_size={batch}", "eval.metrics=[]"])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp, device="cpu")
        trainer._build()
        state, sampler = trainer.state, trainer.sampler
        for _ in range(20):
            trainer.step(state, sampler)
        t0 = time.perf_counter()
        for _ in range(iterations):
            trainer.step(state, sampler)
        return (time.perf_counter() - t0) / iterations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from ganstudy.config import DataConfig
    from ganstudy.data import load_training_data
    from ganstudy.data import scale as scale_images

    data = load_training_data(DataConfig(dataset="mnist-mini", split="test"))
    images = scale_images(torch.from_numpy(data.train.images), "minus_one_one").flatten(1)
    rows = [("plain PyTorch reference (one D step)", reference_loop(images, args.iterations, args.batch))]
    rows.append(("ganstudy, pytorch step style", ganstudy_step("pytorch", args.iterations, args.batch)))
    rows.append(("ganstudy, keras step style (3 updates)", ganstudy_step("keras", args.iterations, args.batch)))
    ref = rows[0][1]
    print(f"Keras-GAN MLP, batch {args.batch}, {args.threads} threads, {args.iterations} timed iterations")
    for name, seconds in rows:
        print(f"{name:42s} {1000 * seconds:7.2f} ms/it  {1 / seconds:7.1f} it/s  {ref / seconds:5.2f}x the reference")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
