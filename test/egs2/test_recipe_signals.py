"""Recipes under careless use: signals stop the running step, one run per experiment
(lock), previous logs kept, a checkpoint that does not load is reported."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "egs2" / "TEMPLATE"
STAGES_SH = TEMPLATE / "lib" / "stages.sh"

RUN_SH = """#!/usr/bin/env bash
set -euo pipefail
exec ./asr.sh --python "{python} -m espnet_mamba.run" --train_set tr --valid_set dv \\
    --test_sets te --asr_config conf/tiny.yaml --asr_exp exp/asr_tiny "$@"
"""
# Stage 1 stand-in: records its PID and its child's, then blocks (or not, with FAST=1).
DATA_SH = """#!/usr/bin/env bash
set -euo pipefail
[ -n "${FAST:-}" ] && exit 0
sleep 300 &
echo "$$ $!" > data_sh.pids
wait
"""


@pytest.fixture
def recipe(tmp_path):
    """A recipe dir laid out as egs2/<corpus>/asr1: run.sh, asr.sh -> TEMPLATE, local/."""
    root = tmp_path / "egs2"
    root.mkdir()
    (root / "TEMPLATE").symlink_to(TEMPLATE)
    recipe = root / "tiny" / "asr1"
    (recipe / "local").mkdir(parents=True)
    (recipe / "conf").mkdir()
    (recipe / "conf" / "tiny.yaml").write_text("encoder: conmamba\n")
    (recipe / "asr.sh").symlink_to("../../TEMPLATE/asr1/asr.sh")
    for name, text in (("run.sh", RUN_SH.format(python=sys.executable)),
                       ("local/data.sh", DATA_SH)):
        (recipe / name).write_text(text)
        (recipe / name).chmod(0o755)
    return recipe


def start(recipe, *args, **env):
    return subprocess.Popen(["./run.sh", *args], cwd=recipe, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, **env})


def wait_for(path: Path, proc, timeout=120.0):
    end = time.time() + timeout
    while not path.exists() or not path.read_text().strip():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.time() < end, f"{path} never appeared"
        time.sleep(0.2)
    return [int(p) for p in path.read_text().split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_run_sh_stops_the_running_step_within_seconds(recipe, sig):
    proc = start(recipe, "--stop_stage", "1")
    step_pids = wait_for(recipe / "data_sh.pids", proc)
    sent = time.time()
    proc.send_signal(sig)  # run.sh execs asr.sh: the same process
    out, _ = proc.communicate(timeout=30)
    assert time.time() - sent < 15
    assert proc.returncode == 130, out
    assert "Interrupted in stage 1" in out
    for pid in step_pids:  # local/data.sh and its child: the step's whole process group
        end = time.time() + 5
        while alive(pid) and time.time() < end:
            time.sleep(0.1)
        assert not alive(pid), f"step process {pid} still runs"
    assert not (recipe / "exp" / "asr_tiny" / ".lock").exists()  # the lock went with it


def test_a_second_run_on_the_same_experiment_refuses(recipe):
    first = start(recipe, "--stop_stage", "1")
    try:
        wait_for(recipe / "data_sh.pids", first)
        second = subprocess.run(["./run.sh", "--stop_stage", "1"], cwd=recipe, text=True,
                                capture_output=True, timeout=120, env={**os.environ, "FAST": "1"})
        assert second.returncode == 1
        lock = recipe / "exp" / "asr_tiny" / ".lock"
        assert (f"exp/asr_tiny is in use by another run: PID {first.pid} holds the lock "
                f"{lock.relative_to(recipe)}") in second.stderr
        assert first.poll() is None  # the first run is untouched
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)


def test_a_stale_lock_of_a_dead_pid_is_taken_over(recipe):
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = recipe / "exp" / "asr_tiny" / ".lock"
    lock.mkdir(parents=True)
    (lock / "pid").write_text(f"{dead.pid}\n")
    out = subprocess.run(["./run.sh", "--stop_stage", "1"], cwd=recipe, text=True,
                         capture_output=True, timeout=120, env={**os.environ, "FAST": "1"})
    assert out.returncode == 0, out.stderr
    assert f"taking over the stale lock exp/asr_tiny/.lock (PID {dead.pid} is not running)" \
        in out.stdout
    assert not lock.exists()


def test_a_checkpoint_that_does_not_load_is_reported_with_the_resume_command(recipe):
    exp = recipe / "exp" / "asr_tiny"
    exp.mkdir(parents=True)
    torch.save({"w": torch.zeros(2)}, exp / "2epoch.pth")
    torch.save({"model": {"w": torch.zeros(5000)}}, exp / "checkpoint.pth")
    data = (exp / "checkpoint.pth").read_bytes()
    (exp / "checkpoint.pth").write_bytes(data[: len(data) // 2])  # a save cut short
    out = subprocess.run(["./run.sh", "--stage", "6", "--stop_stage", "6"], cwd=recipe,
                         text=True, capture_output=True, timeout=120)
    assert out.returncode == 1
    assert "exp/asr_tiny/checkpoint.pth does not load (" in out.stderr  # torch's error
    assert "The last epoch whose weights load is 2 (exp/asr_tiny/2epoch.pth)" in out.stderr
    assert "mv exp/asr_tiny/checkpoint.pth exp/asr_tiny/checkpoint.pth.bad" in out.stderr
    assert "./run.sh --stage 6 --asr_args '--init_param exp/asr_tiny/2epoch.pth'" in out.stderr
    assert (exp / "checkpoint.pth").read_bytes() == data[: len(data) // 2]  # untouched


def test_the_previous_log_of_a_step_is_kept(tmp_path):
    log = tmp_path / "exp" / "train.log"
    log.parent.mkdir()
    log.write_text("the interrupted run\n")
    os.utime(log, (1700000000, 1700000000))
    subprocess.run(["bash", "-c", f'. "{STAGES_SH}"; run_logged "{log}" echo the new run'],
                   check=True, capture_output=True, text=True)
    kept = [p.name for p in log.parent.iterdir() if p.name != "train.log"]
    assert kept == [time.strftime("train.%Y%m%dT%H%M%S.log", time.localtime(1700000000))]
    assert (log.parent / kept[0]).read_text() == "the interrupted run\n"
    assert log.read_text() == "the new run\n"


FAKE_LAUNCHER = """#!/usr/bin/env bash
echo "$(basename "$0") $*" > "$LAUNCHED"
exit 3
"""


@pytest.mark.parametrize("launcher,prefix", [
    ("slurm", "srun --nodes 2 --ntasks 2 --ntasks-per-node 1 "),
    ("mpi", "mpirun -np 2 --map-by ppr:1:node "),
])
def test_distributed_options_reach_the_trainer(recipe, tmp_path, launcher, prefix):
    """--ngpu/--num_nodes/--dist_launcher as ESPnet's templates: the training starts under
    srun/mpirun with ESPnet's distributed options (a stand-in launcher records it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("srun", "mpirun"):
        (bin_dir / name).write_text(FAKE_LAUNCHER)
        (bin_dir / name).chmod(0o755)
    (recipe / "exp" / "stats").mkdir(parents=True)
    (recipe / "exp" / "stats" / ".done").touch()
    launched = tmp_path / "launched"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "LAUNCHED": str(launched)}
    out = subprocess.run(["./run.sh", "--stage", "6", "--stop_stage", "6", "--ngpu", "4",
                          "--num_nodes", "2", "--dist_launcher", launcher,
                          "--asr_stats_dir", "exp/stats"], cwd=recipe, text=True,
                         capture_output=True, timeout=120, env=env)
    assert out.returncode == 1 and "stage 6 failed; see the log" in out.stderr
    cmd = launched.read_text()
    assert cmd.startswith(prefix + sys.executable + " -m espnet_mamba.run -m "
                          "espnet2.bin.asr_train --ngpu 4 --multiprocessing_distributed true "
                          f"--dist_launcher {launcher} --dist_init_method file://")
    assert f"{recipe}/exp/asr_tiny/.dist_init" in cmd


def test_several_nodes_without_a_launcher_are_refused(recipe):
    (recipe / "exp" / "stats").mkdir(parents=True)
    (recipe / "exp" / "stats" / ".done").touch()
    out = subprocess.run(["./run.sh", "--stage", "6", "--stop_stage", "6", "--num_nodes", "2",
                          "--asr_stats_dir", "exp/stats"], cwd=recipe, text=True,
                         capture_output=True, timeout=120)
    assert out.returncode == 1
    assert "--num_nodes 2 needs --dist_launcher slurm or mpi" in out.stderr
