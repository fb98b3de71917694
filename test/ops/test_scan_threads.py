"""The CPU scan after fork(), in spawned children and from several Python threads."""
import subprocess
import sys
import textwrap

import pytest

# Uses the model's scan in the parent, then in a child made by the given start method,
# and compares the child's output with the parent's.
SCRIPT = textwrap.dedent("""
    import multiprocessing as mp
    import sys
    import torch
    from espnet_mamba.modules import BiMambaInner
    from espnet_mamba.ops import cpu_threads

    def run(queue):
        torch.manual_seed(0)
        block = BiMambaInner(16, d_state=16)
        x = torch.randn(3, 50, 16, requires_grad=True)
        y = block(x, torch.tensor([50, 31, 7]))
        y.sum().backward()
        queue.put((y.detach().numpy(), x.grad.numpy(), cpu_threads.in_forked_child(), torch.get_num_threads()))

    if __name__ == "__main__":
        method = sys.argv[1]
        parent = mp.get_context("fork").SimpleQueue()
        run(parent)  # the parent launches numba's threading layer first
        y0, g0, _, _ = parent.get()
        ctx = mp.get_context(method)
        queue = ctx.SimpleQueue()
        child = ctx.Process(target=run, args=(queue,))
        child.start()
        y1, g1, forked, threads = queue.get()  # the test's timeout catches a hung child
        child.join()
        assert child.exitcode == 0, f"child exit code {child.exitcode}"
        assert (y1 == y0).all()  # forward: bit for bit
        assert abs(g1 - g0).max() <= 1e-5
        print("OK", method, "serial" if forked else "parallel", threads)
""")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_scan_runs_in_child_processes_after_the_parent_used_it(method, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script), method], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"OK {method}" in out.stdout
    assert "fork() called from a process already using GNU OpenMP" not in out.stderr
    if method == "fork":  # OpenMP is unsafe there: serial scan, one torch thread
        assert "OK fork serial 1" in out.stdout
    else:  # a fresh interpreter: parallel, torch's own default
        assert f"OK {method} parallel" in out.stdout


THREADS = textwrap.dedent("""
    import threading
    import torch
    from espnet_mamba.ops import selective_scan

    torch.manual_seed(0)
    args = [torch.randn(2, 32, 300), torch.rand(2, 32, 300), -torch.rand(32, 8),
            torch.randn(2, 8, 300), torch.randn(2, 8, 300)]
    want = selective_scan(*args)
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                u = args[0].clone().requires_grad_(True)
                y = selective_scan(u, *args[1:])
                y.sum().backward()
                results.append(torch.equal(y.detach(), want))
        except Exception as exc:  # reported by the main thread
            errors.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("errors", errors)
    print("equal", len(results), all(results))
""")


@pytest.mark.parametrize("layer", ["default", "workqueue"])
def test_scan_from_several_python_threads(layer):
    """Four threads at once, also with numba's workqueue layer (which aborts the
    process when two threads enter a parallel region)."""
    import os

    env = dict(os.environ)
    if layer != "default":
        env["NUMBA_THREADING_LAYER"] = layer
    out = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "errors []" in out.stdout
    assert "equal 20 True" in out.stdout
