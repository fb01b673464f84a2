"""ganstudy: GAN ablation studies with seeds, objective metrics and statistical verdicts."""

__version__ = "0.1.0"
