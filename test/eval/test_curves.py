"""Learning curves from ESPnet checkpoints written by ESPnet's own Reporter."""
import subprocess
import sys

import pytest
import torch
from espnet2.train.reporter import Reporter

from espnet_mamba.bin.plot_curves import main
from espnet_mamba.eval.curves import read_history, table


def write_checkpoint(exp_dir, losses, updates_per_epoch=3):
    """An exp dir whose checkpoint.pth holds the Reporter of a training whose validation
    si_snr_loss per epoch is ``losses``."""
    reporter = Reporter()
    for epoch, loss in enumerate(losses, start=1):
        reporter.set_epoch(epoch)
        with reporter.observe("train") as sub:
            for _ in range(updates_per_epoch):
                sub.register({"loss": loss + 1.0})
                sub.next()
        with reporter.observe("valid") as sub:
            sub.register({"loss": loss, "si_snr_loss": loss})
            sub.next()
    exp_dir.mkdir(parents=True)
    torch.save({"reporter": reporter.state_dict(), "model": {}}, exp_dir / "checkpoint.pth")
    return exp_dir


def test_history_counts_updates_and_time(tmp_path):
    history = read_history(write_checkpoint(tmp_path / "a", [-1.0, -3.0, -2.5]))
    assert [e.epoch for e in history] == [1, 2, 3]
    assert [e.updates for e in history] == [3, 6, 9]
    assert [e.valid["si_snr_loss"] for e in history] == [-1.0, -3.0, -2.5]
    hours = [e.hours for e in history]
    assert 0 <= hours[0] <= hours[1] <= hours[2] < 1 / 60  # cumulative, seconds here


def test_table_last_and_best(tmp_path):
    histories = {"m": read_history(write_checkpoint(tmp_path / "a", [-1.0, -3.0, -2.5]))}
    rows = table(histories, "si_snr_loss", scale=-1, maximize=True)
    assert rows[2].startswith("| m | 3 | 9 |")
    assert rows[2].endswith("| 2.500 | 3.000 (2) |")
    assert table(histories, "si_snr_loss")[2].endswith("| -2.500 | -3.000 (2) |")
    named = table(histories, "si_snr_loss", name="SI-SNR")
    assert "| last SI-SNR | best SI-SNR (epoch) |" in named[0]


def test_cli_writes_png(tmp_path, capsys):
    a = write_checkpoint(tmp_path / "a", [-1.0, -2.0])
    b = write_checkpoint(tmp_path / "b", [-0.5, -1.5, -2.5], updates_per_epoch=2)
    out = tmp_path / "img" / "curves.png"
    main(["--key", "si_snr_loss", "--scale", "-1", "--maximize", "--out", str(out),
          f"A={a}", f"B={b}"])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "| A | 2 | 6 |" in printed and "| B | 3 | 6 |" in printed


@pytest.mark.parametrize("problem, args, message", [
    ("missing", ["A={root}/nowhere"], "no checkpoint"),
    ("truncated", ["A={root}/bad"], "not an ESPnet checkpoint"),
    ("key", ["--key", "acc", "A={root}/a"], "has no validation 'acc' (it has: loss, si_snr_loss)"),
    ("label", ["{root}/a"], "give LABEL=EXP_DIR"),
])
def test_cli_errors_name_the_problem(tmp_path, problem, args, message):
    write_checkpoint(tmp_path / "a", [-1.0])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.pth").write_bytes(b"PK\x03\x04 truncated")
    args = [a.format(root=tmp_path) for a in args]
    if "--key" not in args:
        args = ["--key", "si_snr_loss"] + args
    done = subprocess.run([sys.executable, "-m", "espnet_mamba.bin.plot_curves", *args,
                           "--out", str(tmp_path / "c.png")], capture_output=True, text=True)
    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "c.png").exists()
