"""espnet_mamba.bin.stop_at_budget: a training is stopped at the first epoch that could not
end inside the wall-clock budget, and only that training."""
import os
import subprocess
import sys
import time

import pytest

from espnet_mamba.bin.stop_at_budget import current_log, epoch_starts, main, over_budget, watch

# ESPnet trainer lines (202511's format), epochs starting at 0, 40 and 80 minutes.
LOG = """[vm] 2026-12-07 06:00:00,100 (trainer:336) INFO: 1/60epoch started
[vm] 2026-12-07 06:20:00,000 (trainer:811) INFO: 1epoch:train:1-25batch: loss=3.0
[vm] 2026-12-07 06:40:00,000 (trainer:324) INFO: 2/60epoch started. Estimated time to finish: 2 hours
[vm] 2026-12-07 07:20:00,500 (trainer:324) INFO: 3/60epoch started. Estimated time to finish: 2 hours
"""


def test_epoch_starts_parsed():
    starts = epoch_starts(LOG)
    assert [n for n, _ in starts] == [1, 2, 3]
    assert [t - starts[0][1] for _, t in starts] == [0, 2400, 4800]


@pytest.mark.parametrize("minutes, stop", [(90, [False, False, True]),
                                           (120, [False, False, False]),
                                           (79, [False, True, True])])
def test_over_budget(minutes, stop):
    starts = epoch_starts(LOG)
    assert [over_budget(starts[:n], minutes * 60) for n in (1, 2, 3)] == stop


def sleeper(cwd, output_dir):
    """A stand-in training: a process whose arguments name --output_dir."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                             "--output_dir", output_dir], cwd=cwd)


def test_stops_the_training_of_that_dir_only(tmp_path):
    exp, other = tmp_path / "exp" / "a", tmp_path / "exp" / "b"
    exp.mkdir(parents=True)
    ours, theirs = sleeper(tmp_path, "exp/a"), sleeper(tmp_path, str(other))
    try:
        time.sleep(0.2)
        (exp / "train.log").write_text(LOG)
        out = watch(exp, 90 * 60, poll_s=0.05, since=0.0)
        assert ours.wait(timeout=10) == -15  # SIGTERM
        assert theirs.poll() is None
    finally:
        ours.kill()
        theirs.kill()
    assert f"process {ours.pid}" in out
    assert "epochs 1-2 took 4800 s of the 5400 s budget" in out
    assert "max_epoch: 2" in out


def test_finished_inside_budget(tmp_path):
    (tmp_path / "train.log").write_text(
        LOG + "[vm] 2026-12-07 07:30:00,0 (trainer:535) INFO: The training was finished at 3 "
        "epochs\n")
    assert "finished inside the budget" in watch(tmp_path, 200 * 60, poll_s=0.05, since=0.0)


def test_training_that_died_is_reported(tmp_path):
    """An epoch started, no training process is left and the log has no end: a crash."""
    (tmp_path / "train.log").write_text(LOG.splitlines(keepends=True)[0])
    out = watch(tmp_path, 90 * 60, poll_s=0.05, since=0.0)
    assert "ended during epoch 1 without finishing" in out


def test_stale_log_not_read(tmp_path):
    """A log last written before the watch began (an earlier run's) reads as empty."""
    log = tmp_path / "train.log"
    assert current_log(log, 0.0) == ""
    log.write_text(LOG)
    now = time.time()
    os.utime(log, (now - 3600, now - 3600))
    assert current_log(log, now) == ""
    assert current_log(log, now - 7200) == LOG


def test_budget_must_be_positive(tmp_path):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--minutes", "0"])
