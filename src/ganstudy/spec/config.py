"""The typed config tree of one training run (its hash: :mod:`.identity`).

A :class:`RunConfig` fully determines one training run. Configs are built from layers of
flat dotted keys (``{"optim.lr": 0.001}``) by :mod:`ganstudy.spec.layers`: defaults in
code, then a config file or a study's baseline, then a case's changes, then ``--set``.

Keys whose default depends on the architecture (widths, batch norm flags, init...) are
``None`` until :class:`ModelConfig` fills them from the architecture's preset, so the
resolved config that is saved with every run shows exactly what ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .identity import digest, training_keys


class _Section(BaseModel):
    # strict: a boolean is not a number and "0.001" is not a float (TOML and --set values are
    # already typed; a string where a number belongs is a mistake, never a conversion);
    # finite: an infinite learning rate only diverges.
    model_config = ConfigDict(extra="forbid", validate_default=True, strict=True, allow_inf_nan=False)


#: Upper bounds of sizes: far past any GAN a study trains on one machine, and low enough that a
#: typo (an extra three zeros) is an error at once, not an allocation of terabytes. What a run
#: needs in memory is estimated and checked against the machine before training (preflight).
MAX_WIDTH = 65536
MAX_BATCH = 65536
MAX_SAMPLES = 1_000_000
MAX_ITERATIONS = 1_000_000_000
Width = Annotated[int, Field(ge=1, le=MAX_WIDTH)]


class DataConfig(_Section):
    """What the GAN learns from."""

    dataset: str = Field("mnist", description="dataset name: see `ganstudy datasets`")
    path: str | None = Field(None, description="file or folder for the generic datasets mat, npz, folder")
    split: Literal["train", "test", "all"] = Field("train", description="which split to train on")
    scale: Literal["zero_one", "minus_one_one"] = Field(
        "minus_one_one", description="pixel scaling: zero_one is '/255.0', minus_one_one is '/127.5 - 1'"
    )
    extra: list[str] = Field(default_factory=list, description="extra image files (.mat, .npz, image folder) added to training")
    limit: int | None = Field(None, ge=1, description="use only the first N images of the split")
    holdout: int = Field(0, ge=0, description="keep the last N images of the split out of training (for evaluation)")
    image_size: int | None = Field(None, ge=8, le=512, description="centre-crop every image to a square and resize "
                                   "it to this many pixels a side (an image folder of any size; 32 for the DCGANs)")

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        from ..data.registry import names

        if value not in names():
            raise ValueError(f"unknown dataset {value!r}; allowed: {', '.join(names())}")
        return value


BoolFlags = bool | list[bool]


class ModelConfig(_Section):
    """The two networks. ``None`` means "the architecture's preset value"."""

    arch: str = Field("mlp", description="architecture or preset: see `ganstudy archs`")
    latent_dim: int = Field(100, ge=1, le=MAX_WIDTH, description="size of the noise vector z")
    # Dense (mlp) architectures.
    g_widths: list[Width] | None = Field(None, description="generator hidden layer widths (mlp)")
    d_widths: list[Width] | None = Field(None, description="discriminator hidden layer widths (mlp)")
    # Convolutional (dcgan) architectures.
    g_channels: list[Width] | None = Field(None, description="generator channels: projection, then one per block (dcgan)")
    d_channels: list[Width] | None = Field(None, description="discriminator conv channels, one per layer (dcgan)")
    d_strides: list[Annotated[int, Field(ge=1, le=8)]] | None = Field(None, description="discriminator conv strides, one per layer (dcgan)")
    d_kernel: Literal[3, 4] | None = Field(None, description="discriminator conv kernel size (dcgan)")
    g_upsample: Literal["transpose", "upsample"] | None = Field(
        None, description="generator upsampling: transposed conv k4s2p1, or nearest x2 + conv k3 (dcgan)"
    )
    g_project_activation: bool | None = Field(None, description="activation after the generator's projection (dcgan)")
    # Shared knobs.
    g_activation: Literal["relu", "leaky_relu", "elu", "tanh", "selu", "gelu"] | None = None
    d_activation: Literal["relu", "leaky_relu", "elu", "tanh", "selu", "gelu"] | None = None
    g_slope: float | None = Field(None, ge=0, description="negative slope of leaky_relu in G")
    d_slope: float | None = Field(None, ge=0, description="negative slope of leaky_relu in D")
    g_batchnorm: BoolFlags | None = Field(None, description="batch norm in G: one flag for all hidden layers or one per layer")
    d_batchnorm: BoolFlags | None = Field(
        None, description="batch norm in D: one flag or one per layer; the first is D's input layer"
    )
    g_dropout: float | None = Field(None, ge=0, lt=1, description="dropout rate after each G hidden layer")
    d_dropout: float | None = Field(None, ge=0, lt=1, description="dropout rate after each D hidden layer")
    bn_momentum: float | None = Field(
        None, gt=0, lt=1, description="Keras convention: the share of the old running statistic kept (torch momentum = 1 - this)"
    )
    bn_eps: float | None = Field(None, gt=0)
    bn_position: Literal["after_act", "before_act"] | None = Field(
        None, description="Keras-GAN's MLP puts BN after the activation; DCGAN before"
    )
    init: Literal["glorot_uniform", "normal_002", "torch_default"] | None = None
    conv_bias: bool | None = Field(None, description="biases in the conv layers (dcgan); the CITS4404 notebook has none")
    noise: Literal["normal", "uniform"] | None = Field(
        None, description="z ~ N(0, 1), or U(-1, 1) as the CITS4404 notebook draws it (training, grids, evaluation)")

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, value: str) -> str:
        from ..models.registry import names

        if value not in names():
            raise ValueError(f"unknown architecture {value!r}; allowed: {', '.join(names())}")
        return value

    @model_validator(mode="after")
    def _resolve_preset(self) -> ModelConfig:
        from ..models.registry import get

        arch = get(self.arch)
        for key, value in arch.defaults.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        for key in arch.unused:
            object.__setattr__(self, key, None)
        if self.noise is None:
            object.__setattr__(self, "noise", "normal")
        for net in ("g", "d"):
            key = f"{net}_batchnorm"
            n = arch.hidden_layers(self, net)
            flags = getattr(self, key)
            if isinstance(flags, bool):
                flags = [flags] * n
            if len(flags) != n:
                raise ValueError(
                    f"model.{key} has {len(flags)} flags but the {'generator' if net == 'g' else 'discriminator'} "
                    f"has {n} hidden layers; give one flag per layer or a single true/false"
                )
            object.__setattr__(self, key, list(flags))
        return self


class LossConfig(_Section):
    kind: str = Field("bce", description="GAN loss: see `ganstudy losses`")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="one-sided: real targets become 1 - this")
    gp_weight: float = Field(10.0, ge=0, description="gradient penalty weight (wasserstein); 0 turns it off")
    clip_eps: float = Field(1e-7, gt=0, lt=0.1, description="probabilities are clipped to [eps, 1-eps] as Keras does")

    @field_validator("kind")
    @classmethod
    def _known_loss(cls, value: str) -> str:
        from ..models.losses import names

        if value not in names():
            raise ValueError(f"unknown loss {value!r}; allowed: {', '.join(names())}")
        return value


class OptimConfig(_Section):
    name: Literal["adam"] = "adam"
    lr: float = Field(2e-4, gt=0, description="learning rate of both networks")
    lr_g: float | None = Field(None, gt=0, description="generator learning rate (default: lr)")
    lr_d: float | None = Field(None, gt=0, description="discriminator learning rate (default: lr)")
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-7, gt=0, description="Adam epsilon; 1e-7 as Keras")
    schedule: Literal["constant", "step", "linear", "cosine"] = "constant"
    milestones: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, description="step schedule: where the lr changes")
    milestone_unit: Literal["iteration", "epoch"] = "iteration"
    values: list[Annotated[float, Field(gt=0)]] = Field(default_factory=list, description="step schedule: the lr after each milestone")
    milestone_after: bool = Field(
        False, description="step schedule: the new lr starts once the milestone has passed ('if epoch > 20', as the "
        "CITS4404 notebook), not at it ('>= 20')")
    gamma: float | None = Field(None, gt=0, description="step schedule: multiply the lr by this at each milestone")

    def base_lr(self, net: str) -> float:
        """The learning rate of network ``net`` ("g" or "d") before any schedule."""
        own = self.lr_g if net == "g" else self.lr_d
        return own or self.lr
    min_factor: float = Field(0.0, ge=0, le=1, description="linear/cosine: end at lr * this")

    @model_validator(mode="after")
    def _check_schedule(self) -> OptimConfig:
        if self.schedule != "step":
            return self
        if not self.milestones:
            raise ValueError("schedule 'step' needs optim.milestones")
        if any(b <= a for a, b in zip(self.milestones, self.milestones[1:])) or self.milestones[0] <= 0:
            raise ValueError(f"optim.milestones must be positive and increasing, got {self.milestones}")
        if bool(self.values) == (self.gamma is not None):
            raise ValueError("schedule 'step' needs exactly one of optim.values (one lr per milestone) or optim.gamma")
        if self.values and len(self.values) != len(self.milestones):
            raise ValueError(
                f"optim.values has {len(self.values)} entries but optim.milestones has {len(self.milestones)}"
            )
        return self


class TrainConfig(_Section):
    iterations: int | None = Field(30000, ge=1, le=MAX_ITERATIONS, description="training iterations (Keras-GAN's 'epochs')")
    epochs: int = Field(0, ge=0, le=1_000_000, description="if > 0: real epochs over the shuffled data instead of iterations")
    batch_size: int = Field(32, ge=1, le=MAX_BATCH)
    step_style: Literal["keras", "pytorch"] = Field(
        "keras", description="keras: two D updates on separate batches, G fakes in inference mode; pytorch: one D step"
    )
    d_steps: int = Field(1, ge=1, le=100, description="discriminator steps per iteration")
    d_learns_in_g_step: bool = Field(
        False, description="Keras 'discriminator.trainable = True' in the combined model: D also steps on the G loss"
    )
    g_fresh_noise: bool = Field(
        False, description="pytorch style: G's step draws new z (the CITS4404 notebook) instead of reusing D's fakes")
    d_loss_sum: bool = Field(
        False, description="pytorch style: D steps on real + fake loss (the CITS4404 notebook), not their mean")
    seed: int = Field(0, ge=0, lt=2**31)
    log_every: int = Field(100, ge=1, description="iterations between metrics.jsonl lines (presentation)")
    sample_every: int = Field(1000, ge=1, description="iterations between sample grids (presentation)")
    checkpoint_every: int = Field(1000, ge=1, description="iterations between checkpoints (presentation)")
    d_loss_log_scale: float = Field(
        0.5, gt=0, description="logged D loss and accuracy = this * (real + fake), as Keras-GAN averaged [loss, acc] "
        "(presentation)")
    stack: bool = Field(
        True,
        description="ganstudy run trains runs that can train together (a case's seeds, and cases differing only in "
        "lr, Adam, schedule, scaling, loss or dropout rate) as one stacked model, each its own run; equal to "
        "separate runs up to float rounding (presentation). Also accepted by its first name, train.vectorize_seeds")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="bf16: G's and D's matrix products and convolutions in bfloat16 (autocast; weights and "
        "Adam stay fp32). Pays for convolutions on GPUs and CPUs with AVX512-BF16/AMX; changes numbers (in the run hash)")
    loggers: list[str] = Field(
        default_factory=list, description="also log losses, metrics and samples to: tensorboard, mlflow (optional "
        "extras; presentation)")

    @field_validator("loggers")
    @classmethod
    def _loggers(cls, value: list[str]) -> list[str]:
        from ..tracking.registry import names

        unknown = [v for v in value if v not in names()]
        if unknown:
            raise ValueError(f"unknown logger {unknown[0]!r}; allowed: {', '.join(names())}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _epochs_replace_iterations(self) -> TrainConfig:
        if self.epochs > 0:
            object.__setattr__(self, "iterations", None)
        elif self.iterations is None:
            raise ValueError("set train.iterations or train.epochs")
        return self


def _all_metrics() -> list[str]:
    from ..metrics.registry import names

    return names()


class EvalConfig(_Section):
    """How runs are scored. Never changes training (left out of the run hash)."""

    metrics: list[str] = Field(default_factory=_all_metrics, description="metrics to compute; [] turns scoring off")
    features: Literal["auto", "classifier", "unlabelled", "inception"] = Field(
        "auto", description="the metrics' feature space: auto (the dataset's classifier evaluator, else the label-free "
        "one), classifier, unlabelled (random conv features whitened on the reference), inception (an optional extra)")
    every: int = Field(0, ge=0, description="iterations between evaluations during training; 0: only at the end")
    curve_points: int = Field(5, ge=0, le=100, description="points of the metrics' curve through training "
                              "(evaluations on curve_samples images, the last at the end); 0: none")
    curve_samples: int = Field(1000, ge=10, le=MAX_SAMPLES, description="generated images scored for each point of the curve")
    samples: int = Field(10000, ge=10, le=MAX_SAMPLES, description="generated images scored per evaluation")
    reference: Literal["auto", "holdout", "test", "train", "all"] = Field(
        "auto", description="real images to compare with; auto: the held-out images if data.holdout is set, "
        "else the test split for a run on the train split, else the split trained on"
    )
    reference_samples: int = Field(10000, ge=10, le=MAX_SAMPLES, description="at most this many real reference images")
    seed: int = Field(0, ge=0, lt=2**31, description="seed of the evaluation noise (its own stream, never training's)")
    grid_seed: int = Field(1234, ge=0, lt=2**31, description="seed of the fixed noise behind the sample grids")
    grid_size: int = Field(5, ge=1, le=16, description="sample grids are grid_size x grid_size")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        known = _all_metrics()
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r}; allowed: {', '.join(known)}")
        return value


class RunConfig(_Section):
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    def flat(self) -> dict[str, Any]:
        """All keys as ``{"section.key": value}``."""
        return flatten(self.model_dump(mode="json"))

    def training_keys(self) -> dict[str, Any]:
        """The keys that change the computation (what the run hash covers)."""
        return training_keys(self.flat())

    def config_hash(self) -> str:
        """Hash of what changes training, without the seed: equal for two cases that train alike."""
        return digest({k: v for k, v in self.training_keys().items() if k != "train.seed"})

    def run_hash(self) -> str:
        """Hash of what changes training, seed included: the identity of one run."""
        return digest(self.training_keys())


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys. Quoted dotted keys (``"data.scale" = ...``) stay dotted. An
    empty table is kept as a value (``data.holdout = {}`` is then refused as not a number, not
    silently dropped), but for an empty section (``[baseline.data]`` with nothing under it)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and (value or full in RunConfig.model_fields):
            flat.update(flatten(value, f"{full}."))
        else:
            flat[full] = value
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree
