"""Optional official CUDA kernels from ``mamba-ssm`` and ``causal-conv1d``.

Each name is ``None`` when its package is missing or cannot load (no CUDA, no triton):
importing this project never fails because of them.
"""
import logging
from typing import Callable, Optional

selective_scan_fn: Optional[Callable] = None
mamba_chunk_scan_combined: Optional[Callable] = None
causal_conv1d_fn: Optional[Callable] = None

try:  # pragma: no cover - needs a CUDA build of mamba-ssm
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
except Exception as exc:  # ImportError, or OSError/RuntimeError from CUDA libraries
    logging.getLogger(__name__).debug("mamba-ssm kernel unavailable: %s", exc)

try:  # pragma: no cover - needs mamba-ssm with triton (Mamba-2's SSD kernel)
    from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
except Exception as exc:
    logging.getLogger(__name__).debug("mamba-ssm SSD kernel unavailable: %s", exc)

try:  # pragma: no cover - needs a CUDA build of causal-conv1d
    from causal_conv1d import causal_conv1d_fn
except Exception as exc:
    logging.getLogger(__name__).debug("causal-conv1d kernel unavailable: %s", exc)
