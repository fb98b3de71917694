"""Causal depthwise 1-D convolution: ``causal_conv1d_fn`` on CUDA, the numba kernels of
:mod:`espnet_mamba.ops.conv_cpu` on the CPU, ``F.conv1d`` elsewhere (graph export, a
carried state, other dtypes)."""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from espnet_mamba.ops import cuda_kernels
from espnet_mamba.ops.conv_cpu import conv_cpu
from espnet_mamba.ops.lengths import check_lengths, kernel_lengths, reverse_padded
from espnet_mamba.ops.scan_export import is_exporting


def causal_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    activation: Optional[str] = None,
    initial_state: Optional[torch.Tensor] = None,
    return_final_state: bool = False,
    reverse: bool = False,
    lengths: Optional[torch.Tensor] = None,
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
        reverse: Convolve each sequence reversed within its length (what
            :func:`~espnet_mamba.ops.lengths.reverse_padded` input gives), with the
            output in the input's frame order; not with a carried state.
        lengths: Real frames per sequence, (batch,) integers, for ``reverse``; all
            ``L`` if omitted.

    Returns:
        ``out`` (batch, dim, L), and the final state if ``return_final_state``.
    """
    if activation not in (None, "silu", "swish"):
        raise ValueError(f"activation must be None, 'silu' or 'swish'; got {activation!r}")
    streaming = initial_state is not None or return_final_state
    if reverse and streaming:
        raise ValueError("causal_conv1d: reverse=True cannot carry a state "
                         "(initial_state / return_final_state)")
    if lengths is not None:
        check_lengths(lengths, x, dim=2)
    if (x.device.type == "cpu" and not x.is_cuda and not streaming and not is_exporting()
            and x.dtype in (torch.float32, torch.float64)):
        return conv_cpu(x, weight.to(x.dtype),
                        x.new_zeros(x.shape[1]) if bias is None else bias.to(x.dtype),
                        kernel_lengths(lengths, x), reverse, activation is not None)
    if reverse:
        flip = lambda t: reverse_padded(t, lengths, -1)  # noqa: E731
        return flip(causal_conv1d(flip(x), weight, bias, activation))
    if x.is_cuda and cuda_kernels.causal_conv1d_fn is not None and not streaming:
        return cuda_kernels.causal_conv1d_fn(x, weight, bias, activation=activation)
    width = weight.shape[-1]
    if initial_state is None:
        initial_state = x.new_zeros(x.shape[0], x.shape[1], width - 1)
    xp = torch.cat([initial_state.to(x.dtype), x], dim=-1)
    out = F.conv1d(xp, weight.unsqueeze(1), bias, groups=x.shape[1])
    if activation is not None:
        out = F.silu(out)
    if return_final_state:
        return out, xp[..., xp.shape[-1] - (width - 1):]
    return out
