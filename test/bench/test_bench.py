"""Benchmark commands with tiny sizes: valid JSON and plots, stopped points, and the
growth-exponent and crossover arithmetic."""
import json
import math

import pytest

from espnet_mamba.bench.__main__ import LENGTH_SUITES, main
from espnet_mamba.bench.cases import training
from espnet_mamba.bench.report import crossover, fit_exponent

FAST = ["--warmup", "0", "--repeats", "1"]


def run(capsys, argv):
    main(argv)
    return capsys.readouterr().out


def is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_encoders_quick_writes_table_json_and_plot(tmp_path, capsys):
    out = run(capsys, ["encoders", "--quick", "--models", "conmamba", "conmamba2", "conformer",
                       "--durations", "1", "2", "--modes", "infer", *FAST,
                       "--json", str(tmp_path / "e.json"), "--plot", str(tmp_path / "e.png")])
    data = json.loads((tmp_path / "e.json").read_text())
    assert [(r["case"], r["seconds"], r["status"]) for r in data["rows"]] == [
        (case, seconds, "ok") for seconds in (1, 2)
        for case in ("ConMamba quick", "ConMamba-2 quick", "Conformer quick")]
    assert all(r["time_s"] > 0 and r["params_m"] > 0 for r in data["rows"])
    assert isinstance(data["exponents"]["ConMamba quick"]["infer"]["time_s"], float)
    assert set(data["crossovers"]) == {"infer time_s", "infer peak_mb"}
    assert "| ConMamba quick" in out and "Growth exponents" in out
    assert is_png(tmp_path / "e.png")


def test_separators_quick_train_step(tmp_path, capsys):
    run(capsys, ["separators", "--quick", "--models", "mamba_tasnet_xs", "conv_tasnet",
                 "--durations", "0.5", "--modes", "train", *FAST,
                 "--json", str(tmp_path / "s.json"), "--plot", str(tmp_path / "s.png")])
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert [r["case"] for r in rows] == ["Mamba-TasNet XS quick", "Conv-TasNet quick"]
    assert all(r["status"] == "ok" and r["time_s"] > 0 for r in rows)
    assert is_png(tmp_path / "s.png")


def test_scan_writes_json(tmp_path, capsys):
    keep = ["espnet_mamba", "SSD (Mamba-2, N 64)"]
    skip = [name for name in LENGTH_SUITES["scan"] if name not in keep]
    run(capsys, ["scan", "--lengths", "64", "--batch", "1", "--dim", "64", *FAST,
                 "--skip", *skip, "--json", str(tmp_path / "scan.json")])
    rows = json.loads((tmp_path / "scan.json").read_text())["rows"]
    assert [(r["case"], r["status"]) for r in rows] == [(name, "ok") for name in keep]


def test_point_over_time_budget_stops_the_model(tmp_path, capsys):
    out = run(capsys, ["encoders", "--quick", "--models", "transformer", "--durations", "1",
                       "2", "--modes", "infer", *FAST, "--time-budget", "0.2",
                       "--json", str(tmp_path / "t.json")])
    rows = json.loads((tmp_path / "t.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["time budget", "stopped: time budget at 1 s"]
    assert "stopped: time budget at 1 s" in out


def test_fit_exponent_on_synthetic_numbers():
    xs = [5, 15, 30, 60, 120]
    assert fit_exponent(xs, [3 * x ** 2 for x in xs]) == pytest.approx(2.0)
    assert fit_exponent(xs, [0.1 * x for x in xs]) == pytest.approx(1.0)
    assert fit_exponent(xs, [0.1 * x for x in xs[:3]] + [None, None]) == pytest.approx(1.0)
    assert fit_exponent(xs, [1.0, None, None, None, None]) is None


def test_crossover_interpolates_in_log_log():
    xs = [1, 5, 20, 50]
    linear, quadratic = [10 * x for x in xs], [x ** 2 for x in xs]
    assert crossover(xs, quadratic, linear) == 1  # already smaller at the first point
    assert math.isclose(crossover(xs, linear, quadratic), 10.0)
    assert crossover(xs, linear, quadratic[:2] + [None, None]) == 20  # the other stopped
    assert crossover(xs, quadratic[1:] + [1e9], linear) is None
    assert crossover(xs, [0.0] * 4, linear) is None  # nothing measurable


def test_decoders_subcommand_prints_step_times(tmp_path, capsys):
    main(["decoders", "--prefixes", "1", "3", "--beam", "2", "--frames", "20", "--size", "16",
          "--layers", "1", "--json", str(tmp_path / "d.json")])
    rows = json.loads((tmp_path / "d.json").read_text())["rows"]
    assert {(r["decoder"], r["prefix"]) for r in rows} == {
        (d, p) for d in ("mamba", "cross_mamba", "transformer") for p in (1, 3)}
    assert all(r["step_ms"] > 0 for r in rows)
    assert "ms per step" in capsys.readouterr().out


def test_train_pairs_in_one_process_with_profiles(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(training, "SETTINGS", {
        "tiny asr": dict(family="encoders", pair=("conmamba", "conformer"), size="quick",
                         batch=3, seconds=0.5, short=(1, 0.3)),
        "tiny scan": dict(family="kernels", pair=("selective_scan", "attention"), batch=1,
                          dim=8, state=4, length=32),
    })
    out = run(capsys, ["train", "--settings", "tiny asr", "tiny scan", "--repeats", "2",
                       "--warmup", "0", "--profile", "2", "--json", str(tmp_path / "t.json")])
    rows = json.loads((tmp_path / "t.json").read_text())["rows"]
    assert [(r["setting"], r["mamba"], r["baseline"]) for r in rows] == [
        ("tiny asr", "ConMamba", "Conformer"),
        ("tiny scan", training.KERNEL_LABELS["selective_scan"],
         training.KERNEL_LABELS["attention"])]
    for r in rows:
        assert all(len(t) == 2 and min(t) > 0 for t in r["times"].values())
        assert r["ratio"] == pytest.approx(r["mamba_s"] / r["baseline_s"])
        assert all(len(ops) == 2 and ops[0][1] >= ops[1][1] > 0 for ops in r["profile"].values())
    assert "| tiny asr" in out and "top ops by self CPU time" in out
    x, lengths = training.batch_inputs("encoders", 3, 0.5, (1, 0.3))
    assert x.shape == (3, 50, 80) and lengths.tolist() == [50, 50, 30]


def test_deploy_compares_onnx_runtime_with_pytorch(tmp_path, capsys, monkeypatch):
    from espnet_mamba.bench.cases import deploy

    small = dict(output_size=16, num_blocks=1, d_state=4)
    monkeypatch.setattr(deploy, "STREAMING_CONF", dict(
        deploy.STREAMING_CONF, encoder_conf=dict(deploy.STREAMING_CONF["encoder_conf"], **small)))
    monkeypatch.setattr(deploy, "offline_conf", lambda: dict(
        encoder="conmamba", encoder_conf=dict(small, linear_units=16),
        model_conf={"ctc_weight": 1.0}, normalize=None, token_type="char"))
    out = run(capsys, ["deploy", "--stream-seconds", "1", "--seconds", "0.5", "--repeats", "1",
                       "--json", str(tmp_path / "d.json")])
    rows = json.loads((tmp_path / "d.json").read_text())["rows"]
    assert [(r["part"], r["runtime"]) for r in rows] == [
        ("streaming", "PyTorch"), ("streaming", "ONNX Runtime"),
        ("offline ConMamba S", "PyTorch"), ("offline ConMamba S", "ONNX Runtime")]
    assert all(r["rtf"] > 0 for r in rows)
    assert "| ONNX Runtime |" in out and "ms / chunk (p95)" in out
