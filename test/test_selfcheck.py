"""The GPU self-check: ``pytest -m cuda`` compares every CUDA code path with the CPU path
(skipped without CUDA); ``python -m espnet_mamba.selfcheck`` reports kernels and checks."""
import subprocess
import sys

import pytest
import torch

from espnet_mamba import selfcheck


def test_cpu_kernel_agrees_with_the_reference_recurrence():
    check = selfcheck.check_cpu_scan()
    assert check.ok, check


def test_cpu_convolution_kernel_agrees_with_conv1d():
    check = selfcheck.check_cpu_causal_conv()
    assert check.ok and check.error < 1e-12, check


def test_rel_error_flags_non_finite_results():
    assert selfcheck.rel_error(torch.tensor([float("nan")]), torch.tensor([1.0])) == float("inf")
    assert selfcheck.rel_error(torch.tensor([1.0, 2.1]), torch.tensor([1.0, 2.0])) == \
        pytest.approx(0.05, abs=1e-6)


def test_selfcheck_cli_reports_kernels_fixes_and_comparisons():
    out = subprocess.run([sys.executable, "-m", "espnet_mamba.selfcheck"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "selective_scan (cpu)" in out.stdout and "fused numba kernel, parallel" in out.stdout
    assert "active: linear make_pad_mask" in out.stdout
    assert "[ok] scan: fused CPU kernel == PyTorch recurrence (float64)" in out.stdout
    assert "[ok] causal_conv1d: CPU kernel == F.conv1d (float64, both directions)" in out.stdout
    if not torch.cuda.is_available():
        assert "no CUDA device: the CUDA comparisons did not run" in out.stdout


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", list(selfcheck.CUDA_CHECKS))
def test_cuda_path_agrees_with_the_cpu_path(name):
    check = selfcheck.CUDA_CHECKS[name]()
    assert check.ok, check
