"""Mamba-2 block with ``mamba_ssm.modules.mamba2.Mamba2``'s parameters and init.

Parameter names and shapes (``in_proj`` -> [z, x, B, C, dt], depthwise ``conv1d`` over
xBC, ``dt_bias``, ``A_log`` and ``D`` per head, gated RMSNorm ``norm``, ``out_proj``) are
mamba-ssm's, so a mamba-ssm ``Mamba2`` ``state_dict`` loads with ``strict=True`` (the
gated-MLP split ``d_ssm < d_inner`` and tensor parallelism are not offered).  As the
project's :class:`~espnet_mamba.modules.mamba.Mamba`, it takes ``lengths`` (padded
frames are zeroed, before the scan too: the chunked SSD multiplies every frame of a
chunk, so padding must hold finite values) and streams with a carried
:class:`Mamba2State` (``forward_chunk``, ``step``).  The scan is
:func:`espnet_mamba.ops.ssd.ssd_scan`.
"""
import math
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from typeguard import typechecked

from espnet_mamba.checks import at_least, divides
from espnet_mamba.modules.padding import check_lengths, mask_frames
from espnet_mamba.ops import causal_conv1d
from espnet_mamba.ops.ssd import ssd_scan


class Mamba2State(NamedTuple):
    """Recurrent state of a Mamba-2 block.

    conv: the last ``d_conv - 1`` conv inputs of xBC, (batch, conv_dim, d_conv - 1).
    ssm: the SSD state, (batch, nheads, headdim, d_state), float32 (float64 models: float64).
    """

    conv: torch.Tensor
    ssm: torch.Tensor


class RMSNormGated(nn.Module):
    """mamba-ssm's gated RMSNorm: ``rmsnorm(x * silu(z)) * weight`` (or, with
    ``norm_before_gate``, ``rmsnorm(x) * weight * silu(z)``), normalized over groups of
    ``group_size`` channels.

    Args:
        hidden_size: Channels.
        eps: Added to the mean square.
        norm_before_gate: Normalize before gating (mamba-ssm's default: after).
        group_size: Channels per normalization group (default: all).
    """

    def __init__(self, hidden_size: int, eps: float = 1e-5, norm_before_gate: bool = False,
                 group_size: Optional[int] = None):
        super().__init__()
        self.eps = eps
        self.norm_before_gate = norm_before_gate
        self.group_size = group_size or hidden_size
        self.weight = nn.Parameter(torch.ones(hidden_size))

    def forward(self, x: torch.Tensor, z: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x, z: (..., hidden_size) -> (..., hidden_size)."""
        dtype = x.dtype
        x = x.float() if dtype != torch.float64 else x
        if z is not None and not self.norm_before_gate:
            x = x * F.silu(z.to(x.dtype))
        groups = x.unflatten(-1, (-1, self.group_size))
        groups = groups * torch.rsqrt(groups.square().mean(-1, keepdim=True) + self.eps)
        out = groups.flatten(-2) * self.weight.to(x.dtype)
        if z is not None and self.norm_before_gate:
            out = out * F.silu(z.to(x.dtype))
        return out.to(dtype)


class Mamba2(nn.Module):
    """Mamba-2 (SSD) block, mamba-ssm layout.

    Args:
        d_model: Input and output feature size.
        d_state: SSM state size N per head.
        d_conv: Width of the causal depthwise convolution over x, B and C.
        conv_init: If given, ``conv1d.weight`` is uniform in ``[-conv_init, conv_init]``.
        expand: Inner size factor, ``d_inner = expand * d_model``.
        headdim: Channels per head (``d_inner / headdim`` heads).
        ngroups: Groups of heads sharing B and C (divides the heads).
        A_init_range: Range of the initial ``A`` (uniform; ``A_log = log A``).
        D_has_hdim: ``D`` per channel instead of per head.
        rmsnorm: Gated RMSNorm before ``out_proj`` (else the scan gates with ``silu(z)``).
        norm_before_gate: See :class:`RMSNormGated`.
        dt_min: Smallest initial step size.
        dt_max: Largest initial step size.
        dt_init_floor: Lower clamp of the initial step size.
        dt_limit: Clamp of the step sizes in the scan.
        bias: Bias in ``in_proj`` and ``out_proj``.
        conv_bias: Bias in the depthwise convolution.
        chunk_size: SSD chunk length (speed and memory only).
        layer_idx: Index of this layer (kept for mamba-ssm compatibility).

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a size below 1, ``headdim`` not dividing ``d_inner``, ``ngroups`` not
            dividing the heads, or a bad ``A_init_range``/``dt_min``/``dt_max``.
    """

    State = Mamba2State  # what forward_chunk/step carry

    @typechecked
    def __init__(
        self,
        d_model: int,
        d_state: int = 128,
        d_conv: int = 4,
        conv_init: Optional[float] = None,
        expand: int = 2,
        headdim: int = 64,
        ngroups: int = 1,
        A_init_range: Tuple[float, float] = (1.0, 16.0),
        D_has_hdim: bool = False,
        rmsnorm: bool = True,
        norm_before_gate: bool = False,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
        dt_limit: Tuple[float, float] = (0.0, float("inf")),
        bias: bool = False,
        conv_bias: bool = True,
        chunk_size: int = 256,
        layer_idx: Optional[int] = None,
    ):
        super().__init__()
        at_least(1, d_model=d_model, d_state=d_state, d_conv=d_conv, expand=expand,
                 headdim=headdim, ngroups=ngroups, chunk_size=chunk_size)
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner = expand * d_model
        divides("headdim", headdim, "d_inner (expand * d_model)", self.d_inner)
        self.headdim = headdim
        self.nheads = self.d_inner // headdim
        divides("ngroups", ngroups, "the number of heads", self.nheads)
        if not 0 < A_init_range[0] <= A_init_range[1]:
            raise ValueError(f"A_init_range must be (low, high) with 0 < low <= high; got "
                             f"{A_init_range}")
        if not 0 < dt_min <= dt_max:
            raise ValueError(f"dt_min and dt_max must satisfy 0 < dt_min <= dt_max; got "
                             f"{dt_min!r} and {dt_max!r}")
        self.ngroups, self.D_has_hdim, self.rmsnorm = ngroups, D_has_hdim, rmsnorm
        self.dt_limit, self.chunk_size, self.layer_idx = tuple(dt_limit), chunk_size, layer_idx
        self.conv_dim = self.d_inner + 2 * ngroups * d_state
        self._init = dict(conv_bias=conv_bias, conv_init=conv_init, A_init_range=A_init_range,
                          dt_min=dt_min, dt_max=dt_max, dt_init_floor=dt_init_floor)
        self.in_proj = nn.Linear(d_model, self.d_inner + self.conv_dim + self.nheads, bias=bias)
        self._add_branch("")
        if rmsnorm:
            self.norm = RMSNormGated(self.d_inner, eps=1e-5, norm_before_gate=norm_before_gate,
                                     group_size=self.d_inner // ngroups)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias)

    def _add_branch(self, suffix: str) -> None:
        """One SSM branch's ``conv1d``, ``dt_bias``, ``A_log`` and ``D``, initialized as
        mamba-ssm does; ``suffix="_b"`` names the backward branch of the bidirectional
        inner variant (``conv1d_b, dt_bias_b, A_b_log, D_b``)."""
        cfg = self._init
        conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, kernel_size=self.d_conv,
                           groups=self.conv_dim, padding=self.d_conv - 1, bias=cfg["conv_bias"])
        if cfg["conv_init"] is not None:
            nn.init.uniform_(conv1d.weight, -cfg["conv_init"], cfg["conv_init"])
        dt = torch.exp(torch.rand(self.nheads) * (math.log(cfg["dt_max"]) - math.log(cfg["dt_min"]))
                       + math.log(cfg["dt_min"])).clamp(min=cfg["dt_init_floor"])
        dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        A_log = nn.Parameter(torch.log(torch.empty(self.nheads).uniform_(*cfg["A_init_range"])))
        D = nn.Parameter(torch.ones(self.d_inner if self.D_has_hdim else self.nheads))
        for param in (dt_bias, A_log, D):
            param._no_weight_decay = True
        setattr(self, "conv1d" + suffix, conv1d)
        setattr(self, "dt_bias" + suffix, dt_bias)
        setattr(self, "A" + suffix + "_log", A_log)
        setattr(self, "D" + suffix, D)

    def _project(self, u: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(batch, L, d_model) -> z (batch, L, d_inner), xBC (batch, L, conv_dim), dt."""
        return torch.split(self.in_proj(u), [self.d_inner, self.conv_dim, self.nheads], dim=-1)

    def _branch(self, xBC: torch.Tensor, dt: torch.Tensor, z: torch.Tensor, suffix: str = "",
                state: Optional[Mamba2State] = None, return_state: bool = False
                ) -> Tuple[torch.Tensor, Optional[Mamba2State]]:
        """Conv + SSD of one branch: y (batch, L, d_inner) and, with ``return_state``,
        the state after it."""
        conv1d = getattr(self, "conv1d" + suffix)
        conv = causal_conv1d(xBC.transpose(1, 2), conv1d.weight.squeeze(1), conv1d.bias,
                             activation="silu",
                             initial_state=None if state is None else state.conv,
                             return_final_state=return_state)
        xBC, conv_state = conv if return_state else (conv, None)
        x, B, C = torch.split(xBC.transpose(1, 2), [self.d_inner, self.ngroups * self.d_state,
                                                    self.ngroups * self.d_state], dim=-1)
        heads = (self.nheads, self.headdim)
        D = getattr(self, "D" + suffix).float()
        y = ssd_scan(
            x.unflatten(-1, heads), dt, -torch.exp(getattr(self, "A" + suffix + "_log").float()),
            B.unflatten(-1, (self.ngroups, self.d_state)),
            C.unflatten(-1, (self.ngroups, self.d_state)), self.chunk_size,
            D=D.view(heads) if self.D_has_hdim else D,
            z=None if self.rmsnorm else z.unflatten(-1, heads),
            dt_bias=getattr(self, "dt_bias" + suffix).float(), dt_softplus=True,
            dt_limit=self.dt_limit, initial_states=None if state is None else state.ssm,
            return_final_states=return_state)
        y, ssm_state = y if return_state else (y, None)
        return y.flatten(-2), (Mamba2State(conv_state, ssm_state) if return_state else None)

    def _finish(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Gated norm (if any) and ``out_proj``."""
        return self.out_proj(self.norm(y, z) if self.rmsnorm else y)

    def _mix(self, u: torch.Tensor, state: Optional[Mamba2State] = None,
             return_state: bool = False) -> Tuple[torch.Tensor, Optional[Mamba2State]]:
        """(batch, L, d_model) -> output and, with ``return_state``, the state after it."""
        z, xBC, dt = self._project(u)
        y, state = self._branch(xBC, dt, z, state=state, return_state=return_state)
        return self._finish(y, z), state

    def forward(self, hidden_states: torch.Tensor,
                lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(batch, L, d_model) -> (batch, L, d_model); frames at or past ``lengths`` are
        zero in the input (whatever they held) and in the output."""
        if lengths is None:
            return self._mix(hidden_states)[0]
        check_lengths(lengths, hidden_states)
        return mask_frames(self._mix(mask_frames(hidden_states, lengths))[0], lengths)

    def allocate_inference_cache(self, batch_size: int, max_seqlen: int = 1,
                                 dtype: Optional[torch.dtype] = None) -> Mamba2State:
        """Zero state for ``forward_chunk``/``step`` (``max_seqlen`` is unused)."""
        weight = self.in_proj.weight
        ssm_dtype = torch.float64 if weight.dtype == torch.float64 else torch.float32
        return Mamba2State(
            weight.new_zeros(batch_size, self.conv_dim, self.d_conv - 1, dtype=dtype or weight.dtype),
            weight.new_zeros(batch_size, self.nheads, self.headdim, self.d_state, dtype=ssm_dtype))

    def forward_chunk(self, hidden_states: torch.Tensor, state: Optional[Mamba2State] = None
                      ) -> Tuple[torch.Tensor, Mamba2State]:
        """Streaming: (batch, T, d_model) after ``state`` -> output and the new state;
        chunks give the same output as ``forward`` on the whole."""
        if state is None:
            state = self.allocate_inference_cache(hidden_states.shape[0])
        out, state = self._mix(hidden_states, state, return_state=True)
        return out, state

    def step(self, hidden_states: torch.Tensor, state: Mamba2State
             ) -> Tuple[torch.Tensor, Mamba2State]:
        """One frame: (batch, 1, d_model) or (batch, d_model)."""
        squeeze = hidden_states.dim() == 2
        out, state = self.forward_chunk(
            hidden_states.unsqueeze(1) if squeeze else hidden_states, state)
        return (out.squeeze(1) if squeeze else out), state
