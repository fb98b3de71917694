"""Hold an ESPnet training to a wall-clock budget: stop it at the first epoch that could
not end inside the budget.

    python -m espnet_mamba.bin.stop_at_budget EXP_DIR --minutes 90 &
    ./run.sh --stage 4 --enh_args "--max_epoch 100"      # or any training into EXP_DIR

ESPnet's trainer counts epochs, not minutes, so an equal wall-clock comparison either
guesses each model's epochs from timings or stops the trainings.  This watches
``EXP_DIR/train.log``: when an epoch starts (the previous one's checkpoint is then on
disk) and the time since the first epoch started plus the last epoch's duration is over
the budget, it sends SIGTERM to the training (the process with ``--output_dir EXP_DIR``)
and prints how to finish: set ``max_epoch`` to the epochs done and run the training stage
again, which resumes after the last epoch, averages the best checkpoints and goes on to
the next stages (a re-run from scratch with that ``max_epoch`` is the same training).
It exits when the training finishes inside the budget, has been stopped, or has ended
without finishing (a crash: it then says so).  The budget counts from the first epoch of
the current ``train.log`` (the recipes start a new log when a training resumes).
"""
import argparse
import os
import re
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import List, Optional, Tuple

EPOCH_START = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ \(trainer:\d+\) INFO: (\d+)/\d+epoch started")
FINISHED = "The training was finished at"


def epoch_starts(log: str) -> List[Tuple[int, float]]:
    """(epoch, start time in seconds) of each ``N/Mepoch started`` line of a train.log."""
    return [(int(m.group(2)), datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp())
            for m in EPOCH_START.finditer(log)]


def over_budget(starts: List[Tuple[int, float]], budget_s: float) -> bool:
    """Whether the epoch that just started would end after the budget, judged by the
    duration of the epoch before it (the first epoch is always let run)."""
    if len(starts) < 2:
        return False
    used, last = starts[-1][1] - starts[0][1], starts[-1][1] - starts[-2][1]
    return used + last > budget_s


def current_log(log_path: Path, since: float) -> str:
    """The log's text, or "" if it is absent or was last written before ``since`` (then it
    is an earlier run's log, not yet replaced by the training being watched)."""
    if not log_path.exists() or log_path.stat().st_mtime < since:
        return ""
    return log_path.read_text(errors="replace")


def training_pids(exp_dir: Path) -> List[int]:
    """Processes (Linux ``/proc``) whose arguments hold ``--output_dir`` naming exp_dir."""
    target, pids = exp_dir.resolve(), []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:  # gone, or not ours to read
            continue
        for flag, value in zip(args, args[1:]):
            if flag == "--output_dir" and (cwd / value).resolve() == target:
                pids.append(int(proc.name))
                break
    return pids


def watch(exp_dir: Path, budget_s: float, poll_s: float, since: float) -> str:
    """Poll exp_dir/train.log (once written at or after ``since``) until the training
    finishes, is stopped, or has ended otherwise; what happened."""
    while True:
        running = bool(training_pids(exp_dir))  # before the read: the log is then final
        log = current_log(exp_dir / "train.log", since)
        if FINISHED in log:
            return f"{exp_dir}: the training finished inside the budget of {budget_s:.0f} s"
        starts = epoch_starts(log)
        if over_budget(starts, budget_s):
            pids = training_pids(exp_dir)
            for pid in pids:
                os.kill(pid, signal.SIGTERM)
            done = starts[-1][0] - 1
            used = starts[-1][1] - starts[0][1]
            return (f"{exp_dir}: stopped at the start of epoch {starts[-1][0]} (process "
                    f"{', '.join(map(str, pids)) or 'not found'}): epochs {starts[0][0]}-{done} took "
                    f"{used:.0f} s of the {budget_s:.0f} s budget, the last "
                    f"{starts[-1][1] - starts[-2][1]:.0f} s.\nTo finish: max_epoch: {done} "
                    "in the config (or --max_epoch " f"{done}) and run the training stage "
                    "again; it resumes after epoch " f"{done} and goes on.")
        if starts and not running:
            return (f"{exp_dir}: the training ended during epoch {starts[-1][0]} without "
                    f"finishing (no process with --output_dir {exp_dir}); see its train.log")
        time.sleep(poll_s)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exp_dir", type=Path, help="ESPnet experiment dir (--output_dir)")
    parser.add_argument("--minutes", type=float, required=True,
                        help="wall-clock budget from the start of the first epoch")
    parser.add_argument("--poll", type=float, default=10.0,
                        help="seconds between reads of train.log")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    print(watch(args.exp_dir, args.minutes * 60, args.poll, since=time.time()), flush=True)


if __name__ == "__main__":
    main()
