import pytest

from ganstudy.base.errors import ConfigError
from ganstudy.spec.config import RunConfig
from ganstudy.spec.layers import Layer, build_config, load_config, parse_overrides, parse_value


def test_defaults_are_keras_gan():
    cfg = RunConfig()
    assert cfg.model.g_widths == [256, 512, 1024] and cfg.model.d_widths == [512, 256]
    assert cfg.model.g_batchnorm == [True, True, True] and cfg.model.d_batchnorm == [False, False]
    assert cfg.model.bn_momentum == 0.8 and cfg.model.bn_eps == 1e-3
    assert (cfg.optim.lr, cfg.optim.beta1, cfg.optim.eps) == (2e-4, 0.5, 1e-7)
    assert cfg.train.iterations == 30000 and cfg.train.batch_size == 32 and cfg.train.step_style == "keras"


def test_override_values_are_toml_literals():
    assert parse_value("0.001") == 0.001
    assert parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("mnist") == "mnist"  # a bare word is a string
    assert parse_value('"fashion-mnist"') == "fashion-mnist"
    cfg = load_config(None, ["optim.lr=0.001", "model.g_batchnorm=false", "data.dataset=fashion-mnist"])
    assert cfg.optim.lr == 0.001 and cfg.model.g_batchnorm == [False] * 3 and cfg.data.dataset == "fashion-mnist"


def test_config_file_and_override_order(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[optim]\nlr = 0.005\n[train]\nbatch_size = 64\n')
    cfg = load_config(path, ["optim.lr=0.001"])
    assert cfg.optim.lr == 0.001 and cfg.train.batch_size == 64


def test_unknown_key_names_file_and_suggests(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[optim]\nlearning_rate = 0.005\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "optim.learning_rate" in str(err.value)
    with pytest.raises(ConfigError, match="Did you mean 'optim.lr'"):
        load_config(None, ["optim.lrr=0.1"])
    with pytest.raises(ConfigError, match="Did you mean 'train.batch_size'"):
        load_config(None, ["batch_size=16"])


def test_bad_value_names_key_source_and_allowed(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[data]\nscale = "zero_to_one"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text and "data.scale" in text and "'zero_one'" in text and "'minus_one_one'" in text
    with pytest.raises(ConfigError, match=r"--set: train.batch_size.*integer"):
        load_config(None, ["train.batch_size=big"])
    with pytest.raises(ConfigError, match="unknown dataset 'mnsit'.*allowed: .*mnist"):
        load_config(None, ["data.dataset=mnsit"])


def test_malformed_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[optim\nlr = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML.*line 1"):
        load_config(path)


def test_override_needs_equals():
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_overrides(["optim.lr"])


def test_batchnorm_flags_must_match_depth():
    cfg = load_config(None, ["model.d_batchnorm=[true, false]"])
    assert cfg.model.d_batchnorm == [True, False]
    with pytest.raises(ConfigError, match="--set: model.d_batchnorm: has 3 flags but the discriminator has 2 hidden layers"):
        load_config(None, ["model.d_batchnorm=[true, false, true]"])


def test_step_schedule_validation():
    with pytest.raises(ConfigError, match="exactly one of optim.values"):
        load_config(None, ["optim.schedule=step", "optim.milestones=[10]"])
    with pytest.raises(ConfigError, match="increasing"):
        load_config(None, ["optim.schedule=step", "optim.milestones=[10, 5]", "optim.gamma=0.5"])
    with pytest.raises(ConfigError, match="2 entries but optim.milestones has 1"):
        load_config(None, ["optim.schedule=step", "optim.milestones=[10]", "optim.values=[0.1, 0.2]"])


def test_run_hash_ignores_presentation_keys_only():
    base = RunConfig()
    presentation = load_config(None, ["train.log_every=7", "train.sample_every=9", "train.d_loss_log_scale=1.0",
                                      "train.checkpoint_every=3", "eval.grid_seed=5"])
    assert presentation.run_hash() == base.run_hash()
    assert load_config(None, ["optim.lr=0.001"]).run_hash() != base.run_hash()
    seeded = load_config(None, ["train.seed=1"])
    assert seeded.run_hash() != base.run_hash() and seeded.config_hash() == base.config_hash()
    # Writing a preset's value explicitly is the same computation as leaving it to the preset.
    explicit = load_config(None, ["model.g_widths=[256, 512, 1024]", "model.g_batchnorm=true"])
    assert explicit.run_hash() == base.run_hash()


def test_run_hash_is_stable_across_processes():
    import subprocess
    import sys

    code = "from ganstudy.spec.config import RunConfig; print(RunConfig().run_hash())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == RunConfig().run_hash() and len(out) == 16


def test_arch_switch_drops_keys_that_no_longer_apply():
    cfg = load_config(None, ["model.g_widths=[8, 8]", "model.arch=dcgan"])
    assert cfg.model.g_widths is None and cfg.model.g_channels == [256, 128]
    assert cfg.model.d_batchnorm == [False, True, True] and cfg.model.init == "normal_002"


def test_epochs_replace_iterations():
    cfg = build_config([Layer("t", {"train.epochs": 3})])
    assert cfg.train.iterations is None
