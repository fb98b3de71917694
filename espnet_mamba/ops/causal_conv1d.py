"""Causal depthwise 1-D convolution: ``causal_conv1d_fn`` on CUDA, ``F.conv1d`` elsewhere."""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from espnet_mamba.ops import cuda_kernels


def causal_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    activation: Optional[str] = None,
    initial_state: Optional[torch.Tensor] = None,
    return_final_state: bool = False,
) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    """Depthwise causal convolution ``out_t = sum_k w_k x_{t-W+1+k} (+ bias)``.

    Args:
        x: Input, (batch, dim, L).
        weight: Kernel, (dim, W).
        bias: Optional bias, (dim,).
        activation: ``None``, ``"silu"`` or ``"swish"``.
        initial_state: The ``W - 1`` inputs before ``x``, (batch, dim, W - 1);
            zeros if omitted (the start of a sequence).
        return_final_state: Also return the last ``W - 1`` inputs, the state to pass
            as ``initial_state`` with the next chunk.

    Returns:
        ``out`` (batch, dim, L), and the final state if ``return_final_state``.
    """
    if activation not in (None, "silu", "swish"):
        raise ValueError(f"activation must be None, 'silu' or 'swish'; got {activation!r}")
    width = weight.shape[-1]
    if (
        x.is_cuda
        and cuda_kernels.causal_conv1d_fn is not None
        and initial_state is None
        and not return_final_state
    ):
        return cuda_kernels.causal_conv1d_fn(x, weight, bias, activation=activation)
    if initial_state is None:
        initial_state = x.new_zeros(x.shape[0], x.shape[1], width - 1)
    xp = torch.cat([initial_state.to(x.dtype), x], dim=-1)
    out = F.conv1d(xp, weight.unsqueeze(1), bias, groups=x.shape[1])
    if activation is not None:
        out = F.silu(out)
    if return_final_state:
        return out, xp[..., xp.shape[-1] - (width - 1):]
    return out
