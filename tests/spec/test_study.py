
import pytest
from conftest import REPO

from ganstudy.base.errors import ConfigError
from ganstudy.cli.main import main
from ganstudy.report.plan import plan_rows
from ganstudy.spec.layers import Layer
from ganstudy.spec.study import load_study
from ganstudy.training.trainer import train

STUDIES = sorted((REPO / "studies").glob("*.toml"))

# Tiny data and tiny runs for every shipped study: the architecture stays, sizes shrink.
TINY = {"train.iterations": 5, "train.epochs": 0, "train.batch_size": 8, "data.limit": 64,
        "train.log_every": 1, "train.sample_every": 5, "train.checkpoint_every": 5,
        "eval.samples": 100, "eval.reference_samples": 100}


def test_all_five_studies_ship():
    assert {p.name for p in STUDIES} == {"keras-gan-mnist.toml", "keras-gan-mnist-v2.toml",
                                         "cits4404-dcgan-svhn.toml", "quickstart.toml", "precision-check.toml"}


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_every_case_of_every_shipped_study_trains(path, tmp_path, shared_data, svhn_root):
    study = load_study(path)
    root = svhn_root if "svhn" in path.stem else shared_data
    if "svhn" in path.stem:  # no evaluator ships for SVHN: train one on the tiny data, as a user would
        from ganstudy.metrics.evaluator import train as train_evaluator

        train_evaluator("svhn", svhn_root, epochs=1, log=lambda line: None)
    split = {"data.split": "test"} if "mnist" in path.stem else {}
    for plan in study.cases:
        if plan.same_as:
            continue  # trains exactly as an earlier case
        cfg = load_study(path, [Layer("tiny", {**TINY, **split})]).case(plan.id).config
        result = train(cfg, tmp_path / plan.id, data_root=root)
        assert result.status == "complete", plan.id
        assert study.meta.metric in result.metrics, plan.id


def test_keras_study_marks_cases_5_and_6_as_not_changing_training():
    study = load_study(REPO / "studies" / "keras-gan-mnist.toml")
    assert len(study.cases) == 15
    same = {p.id for p in study.cases if p.same_as == "baseline"}
    assert same == {"05-log-less-often", "06-no-half-d-loss"}
    rows = {r["case"]: r for r in plan_rows(study)}
    assert "does not change training" in rows["05-log-less-often"]["changes"]
    assert rows["05-log-less-often"]["runs"] == "0"
    # at most: 12 distinct cases up to 10 seeds each, the baseline up to 15 (1.5x: it is compared with all)
    assert len(study.runs()) == 12 * 10 + 15


def test_keras_study_cases_are_the_write_ups_changes():
    study = load_study(REPO / "studies" / "keras-gan-mnist.toml")
    base = study.case("baseline").config
    assert base.data.scale == "zero_one" and base.train.iterations == 30000 and base.train.batch_size == 32
    c = {p.id: p.config for p in study.cases}
    assert c["04-double-widths"].model.g_widths == [512, 1024, 2048]
    assert c["08-lr-0.001"].optim.lr == 0.001
    assert c["09-d-trainable-in-combined"].train.d_learns_in_g_step
    assert c["10-no-g-batchnorm"].model.g_batchnorm == [False] * 3
    assert c["12-l2-loss"].loss.kind == "mse_sigmoid"  # Keras 'mse' on D's sigmoid, as the write-up ran it
    assert c["14-convolutional"].model.arch == "keras-dcgan"
    expects = {p.id: p.expect for p in study.cases}
    assert expects["01-scale-minus-one-one"] == "improve" and expects["03-batch-16"] == "worsen"


def test_v2_takes_case_8_as_baseline():
    v2 = load_study(REPO / "studies" / "keras-gan-mnist-v2.toml")
    v1 = load_study(REPO / "studies" / "keras-gan-mnist.toml")
    assert v2.case("baseline").config.run_hash() == v1.case("08-lr-0.001").config.run_hash()


def test_cits4404_schedule_and_cases():
    study = load_study(REPO / "studies" / "cits4404-dcgan-svhn.toml")
    lr = study.case("lr-steps").config.optim
    assert (lr.lr, lr.milestones, lr.values, lr.milestone_unit, lr.milestone_after) == (
        0.01, [20, 40, 60, 80], [0.005, 0.002, 0.001, 0.0005], "epoch", True)
    base = study.case("baseline").config  # the notebook as written
    assert (base.model.arch, base.model.noise, base.model.conv_bias, base.loss.kind, base.optim.eps) == (
        "cits4404-notebook", "uniform", False, "bce_logits", 1e-8)
    assert base.train.g_fresh_noise and base.train.d_loss_sum
    assert study.case("baseline").config.train.epochs == 100
    assert study.case("d-input-batchnorm").config.model.d_batchnorm == [True, True, True]
    assert study.case("baseline").config.model.g_activation == "relu"
    assert study.case("g-leaky-relu").config.model.g_activation == "leaky_relu"


def _write(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


HEAD = '[study]\nname = "t"\nseeds = 2\n[baseline]\ntrain.iterations = 10\n'


def test_case_base_chain_and_cycles(tmp_path):
    study = load_study(_write(tmp_path, HEAD + """
[[cases]]
id = "a"
set = { "optim.lr" = 0.001 }
[[cases]]
id = "b"
base = "a"
set = { "train.batch_size" = 16 }
"""))
    b = study.case("b").config
    assert b.optim.lr == 0.001 and b.train.batch_size == 16 and b.train.iterations == 10
    with pytest.raises(ConfigError, match="its own base"):
        load_study(_write(tmp_path, HEAD + '[[cases]]\nid = "a"\nbase = "b"\n[[cases]]\nid = "b"\nbase = "a"\n'))
    with pytest.raises(ConfigError, match="base 'zz'"):
        load_study(_write(tmp_path, HEAD + '[[cases]]\nid = "a"\nbase = "zz"\n'))


@pytest.mark.parametrize("text, message", [
    ('[[cases]]\nid = "../evil"\n', "folder name"),
    ('[[cases]]\nid = "baseline"\n', "reserved"),
    ('[[cases]]\nid = "a"\n[[cases]]\nid = "a"\n', "appears twice"),
    ('[[cases]]\nid = "a"\nexpect = "better"\n', "'improve'"),
    ('[[cases]]\nid = "a"\nsets = {}\n', r"\[\[cases\]\] a: sets: unknown key"),
    ('[[cases]]\nid = "a"\nset = { "optim.lrr" = 1 }\n', r"\[case a\]: unknown key 'optim.lrr'. Did you mean 'optim.lr'"),
    ('[[cases]]\nid = "a"\nset = { "train.seed" = 3 }\n', "set by \\[study\\] seeds"),
    ('[[cases]]\nid = "a"\nset = { "model.d_batchnorm" = [true] }\n', r"\[case a\]: model.d_batchnorm: has 1 flags"),
])
def test_bad_study_files_name_the_case_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_study(_write(tmp_path, HEAD + text))


def test_unknown_metric_and_section(tmp_path):
    with pytest.raises(ConfigError, match="unknown metric 'fidd'"):
        load_study(_write(tmp_path, '[study]\nname = "t"\nmetric = "fidd"\n'))
    with pytest.raises(ConfigError, match="allowed here: study, baseline, cases"):
        load_study(_write(tmp_path, HEAD + "[baselines]\n"))


def test_plan_command(capsys, monkeypatch, shared_data):
    """The plan of the first write-up's study: its table and notes, then what `run` would refuse
    here (the MNIST training split is not offline: exit 2, as run), and with the test split, 0."""
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping inside the phrases checked below
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    monkeypatch.setenv("GANSTUDY_OFFLINE", "1")
    study = str(REPO / "studies" / "keras-gan-mnist.toml")
    assert main(["plan", study, "--no-estimate"]) == 2
    said = capsys.readouterr()
    assert "Dataset files missing: train-images-idx3-ubyte.gz" in said.err and "at most 135 runs" in said.out
    assert main(["plan", study, "--set", "data.split=test"]) == 0
    out = capsys.readouterr().out
    assert "at most 135 runs to train (155 case x seed pairs; 20 shared" in out  # adaptive: 3 to 10 seeds
    assert "statistics: 12 cases against the baseline, 3 to 10 seeds a case" in out
    assert "the baseline 5, 8, 12, 15" in out
    assert out.count("does not change training") == 2


@pytest.mark.parametrize("line, message", [
    ("seeds = { min = 5, max = 3 }", r"seeds = \{ min, max \}: max \(3\) must be at least min \(5\)"),
    ("seeds = { min = 1, max = 3 }", r"min: Input should be greater than or equal to 2"),
    ("seeds = { min = 3, most = 9 }", r"most: unknown key; allowed: min, max, baseline"),
    ('seeds = "many"', r"seeds must be a count \(seeds = 6\), a list"),
    ('error_control = "bonferroni"', r"error_control: Input should be 'holm' or 'fdr'"),
    ('pairing = "yes"', r"pairing: Input should be 'none' or 'seed'"),
    ("equivalence_abs = -1", r"equivalence_abs: Input should be greater than 0"),
])
def test_bad_statistics_settings_name_the_key(tmp_path, line, message):
    with pytest.raises(ConfigError, match=message):
        load_study(_write(tmp_path, f'[study]\nname = "t"\n{line}\n[baseline]\ntrain.iterations = 10\n'))


def test_seed_settings_make_the_design(tmp_path):
    meta = load_study(_write(tmp_path, '[study]\nname = "t"\nseeds = { min = 3, max = 12 }\nerror_control = "fdr"\n'
                                       'pairing = "seed"\n[baseline]\n')).meta
    assert meta.adaptive and meta.seed_list(cases=5) == list(range(12))  # paired seeds: the baseline as many
    design = meta.design(cases=5)
    assert design.looks == (3, 5, 8, 12) and design.error_control == "fdr" and design.pairing == "seed"
    default = load_study(_write(tmp_path, '[study]\nname = "t"\n[baseline]\n')).meta
    assert default.design(cases=4).looks == (3, 5, 8, 10)  # adaptive seeds unless the study says otherwise
    assert load_study(_write(tmp_path, HEAD)).meta.design(cases=4).looks == (2,)


def test_the_baseline_gets_its_share_of_the_seeds(tmp_path):
    """Compared with every case, the baseline gets 1.5x the seeds of each look when two or
    more cases are compared; with one case, or when seeds pair, as many as the cases."""
    meta = load_study(_write(tmp_path, '[study]\nname = "t"\n[baseline]\n')).meta
    assert meta.design(cases=2).baseline_looks == (5, 8, 12, 15) and meta.seed_list(cases=2) == list(range(15))
    assert meta.design(cases=1).baseline_looks == (3, 5, 8, 10)
    own = load_study(_write(tmp_path, '[study]\nname = "t"\nseeds = { min = 3, max = 8, baseline = 2 }\n'
                                      '[baseline]\n')).meta
    assert own.design(cases=1).baseline_looks == (6, 10, 16) and own.design(cases=1).futility
    off = load_study(_write(tmp_path, '[study]\nname = "t"\nfutility = false\n[baseline]\n')).meta
    assert not off.design(cases=3).futility
    with pytest.raises(ConfigError, match="seeds.baseline"):
        load_study(_write(tmp_path, '[study]\nname = "t"\npairing = "seed"\nseeds = { min = 3, max = 8, baseline = 2 }\n'
                                    '[baseline]\n'))


def test_plan_says_what_the_seeds_can_find(tmp_path, capsys, monkeypatch, shared_data):
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    offline = ["--no-estimate", "--set", "data.dataset=mnist-mini", "--set", "data.split=test"]  # plan checks the data
    cases = "".join(f'[[cases]]\nid = "c{i}"\nset = {{ "optim.lr" = {0.001 + i / 1e5} }}\n' for i in range(12))
    assert main(["plan", str(_write(tmp_path, HEAD + cases)), *offline]) == 0
    captured = capsys.readouterr()
    assert "statistics: 12 cases against the baseline, 2 seeds, unpaired, alpha 0.05, Holm" in captured.out
    assert "no difference in fid can be shown with these seeds" in captured.out
    assert "WARNING: with these seeds and 12 cases no verdict is reachable" in captured.err
    adaptive = HEAD.replace("seeds = 2", "seeds = { min = 3, max = 12 }") + cases
    assert main(["plan", str(_write(tmp_path, adaptive)), *offline]) == 0
    captured = capsys.readouterr()
    line = next(x for x in captured.out.splitlines() if "improves/worsens" in x)
    assert 1.5 < float(line.split("band plus ")[1].split(" ")[0]) < 2.3 and "WARNING" not in captured.err
