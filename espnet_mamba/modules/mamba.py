"""Mamba block with ``mamba_ssm.modules.mamba_simple.Mamba``'s parameters and init.

Parameter names and shapes (``in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj``)
are mamba-ssm's, so a ``state_dict`` moves between the two.  Beyond mamba-ssm's
offline ``forward`` this block offers ``lengths`` (padded frames are zeroed),
``forward_chunk`` for streaming with a carried :class:`MambaState`, and ``step`` for
one-frame decoding with the same state (``allocate_inference_cache`` makes it).
"""
import math
from typing import NamedTuple, Optional, Tuple, Union

import torch
import torch.nn as nn
from typeguard import typechecked

from espnet_mamba.checks import at_least, one_of
from espnet_mamba.modules.padding import check_lengths, mask_frames
from espnet_mamba.ops import causal_conv1d, selective_scan
from espnet_mamba.ops.projection import project_channels


class MambaState(NamedTuple):
    """Recurrent state of one SSM branch.

    conv: the last ``d_conv - 1`` conv inputs, (batch, d_inner, d_conv - 1).
    ssm: the SSM state, (batch, d_inner, d_state), float32 (float64 for float64 models).
    """

    conv: torch.Tensor
    ssm: torch.Tensor


class Mamba(nn.Module):
    """Selective state-space block (Mamba), mamba-ssm layout.

    Args:
        d_model: Input and output feature size.
        d_state: SSM state size N.
        d_conv: Width of the causal depthwise convolution.
        expand: Inner size factor, ``d_inner = expand * d_model``.
        dt_rank: Rank of the delta projection; ``"auto"`` is ``ceil(d_model / 16)``.
        dt_min: Smallest initial step size.
        dt_max: Largest initial step size.
        dt_init: ``"random"`` or ``"constant"`` init of ``dt_proj.weight``.
        dt_scale: Scale of the ``dt_proj.weight`` init.
        dt_init_floor: Lower clamp of the initial step size.
        conv_bias: Bias in the depthwise convolution.
        bias: Bias in ``in_proj`` and ``out_proj``.
        layer_idx: Index of this layer (kept for mamba-ssm compatibility).

    Raises:
        TypeError: an argument of the wrong type (e.g. a string for a size).
        ValueError: a size below 1, or step sizes outside 0 < dt_min <= dt_max.
    """

    State = MambaState  # what forward_chunk/step carry

    @typechecked
    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: Union[int, str] = "auto",
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init: str = "random",
        dt_scale: float = 1.0,
        dt_init_floor: float = 1e-4,
        conv_bias: bool = True,
        bias: bool = False,
        layer_idx: Optional[int] = None,
    ):
        super().__init__()
        at_least(1, d_model=d_model, d_state=d_state, d_conv=d_conv, expand=expand)
        if isinstance(dt_rank, str) and dt_rank != "auto":
            raise ValueError(f"dt_rank must be 'auto' or an int >= 1; got {dt_rank!r}")
        if isinstance(dt_rank, int):
            at_least(1, dt_rank=dt_rank)
        if not 0 < dt_min <= dt_max:
            raise ValueError(f"dt_min and dt_max must satisfy 0 < dt_min <= dt_max; got "
                             f"{dt_min!r} and {dt_max!r}")
        one_of("dt_init", dt_init, ("random", "constant"))
        self.d_model = d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.expand = expand
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.layer_idx = layer_idx
        self._init = dict(
            dt_min=dt_min, dt_max=dt_max, dt_init=dt_init, dt_scale=dt_scale,
            dt_init_floor=dt_init_floor, conv_bias=conv_bias,
        )
        self.in_proj = nn.Linear(d_model, self.d_inner * 2, bias=bias)
        self._add_branch("")
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias)

    def _add_branch(self, suffix: str) -> None:
        """Create one direction's conv/x/dt projections, A and D.

        ``suffix=""`` gives mamba-ssm's names; ``"_b"`` gives Vim's backward branch
        (``conv1d_b, x_proj_b, dt_proj_b, A_b_log, D_b``).
        """
        cfg = self._init
        conv1d = nn.Conv1d(
            self.d_inner, self.d_inner, kernel_size=self.d_conv, groups=self.d_inner,
            padding=self.d_conv - 1, bias=cfg["conv_bias"],
        )
        x_proj = nn.Linear(self.d_inner, self.dt_rank + self.d_state * 2, bias=False)
        dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        std = self.dt_rank**-0.5 * cfg["dt_scale"]
        if cfg["dt_init"] == "constant":
            nn.init.constant_(dt_proj.weight, std)
        else:
            nn.init.uniform_(dt_proj.weight, -std, std)
        dt = torch.exp(
            torch.rand(self.d_inner) * (math.log(cfg["dt_max"]) - math.log(cfg["dt_min"]))
            + math.log(cfg["dt_min"])
        ).clamp(min=cfg["dt_init_floor"])
        with torch.no_grad():  # inverse softplus: softplus(bias) == dt
            dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        dt_proj.bias._no_reinit = True
        A = torch.arange(1, self.d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        A_log = nn.Parameter(torch.log(A))
        A_log._no_weight_decay = True
        D = nn.Parameter(torch.ones(self.d_inner))
        D._no_weight_decay = True
        setattr(self, "conv1d" + suffix, conv1d)
        setattr(self, "x_proj" + suffix, x_proj)
        setattr(self, "dt_proj" + suffix, dt_proj)
        setattr(self, "A" + suffix + "_log", A_log)
        setattr(self, "D" + suffix, D)

    def _ssm(
        self,
        x: torch.Tensor,
        z: torch.Tensor,
        suffix: str = "",
        state: Optional[MambaState] = None,
        return_state: bool = False,
        reverse: bool = False,
        lengths: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, Optional[MambaState]]:
        """Conv + selective scan of one branch. x, z: (batch, d_inner, L) -> y, state.

        ``reverse`` runs the branch on each utterance reversed within ``lengths`` (the
        backward direction), its output in the input's frame order."""
        conv1d = getattr(self, "conv1d" + suffix)
        x_proj = getattr(self, "x_proj" + suffix)
        dt_proj = getattr(self, "dt_proj" + suffix)
        A = -torch.exp(getattr(self, "A" + suffix + "_log").float())
        conv = causal_conv1d(
            x, conv1d.weight.squeeze(1), conv1d.bias, activation="silu",
            initial_state=None if state is None else state.conv,
            return_final_state=return_state, reverse=reverse, lengths=lengths,
        )
        x, conv_state = conv if return_state else (conv, None)
        x_dbl = project_channels(x_proj.weight, x)  # (batch, dt_rank + 2N, L)
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=1)
        dt = project_channels(dt_proj.weight, dt)  # (batch, d_inner, L)
        y = selective_scan(
            x, dt, A, B, C,
            getattr(self, "D" + suffix).float(), z=z,
            delta_bias=dt_proj.bias.float(), delta_softplus=True,
            return_last_state=return_state,
            initial_state=None if state is None else state.ssm,
            reverse=reverse, lengths=lengths,
        )
        if return_state:
            return y[0], MambaState(conv_state, y[1])
        return y, None

    def _in(self, hidden_states: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(batch, L, d_model) -> x, z: (batch, d_inner, L) each, contiguous."""
        h = hidden_states.transpose(1, 2)
        x, z = (project_channels(w, h) for w in self.in_proj.weight.chunk(2, dim=0))
        if self.in_proj.bias is not None:
            x, z = (t + b[:, None] for t, b in zip((x, z), self.in_proj.bias.chunk(2)))
        return x, z

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        """(batch, d_inner, L) -> (batch, L, d_model)."""
        out = project_channels(self.out_proj.weight, y).transpose(1, 2)
        return out if self.out_proj.bias is None else out + self.out_proj.bias

    def forward(
        self, hidden_states: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """(batch, L, d_model) -> (batch, L, d_model); frames at or past ``lengths`` are zero.

        The scan is causal, so real frames never see padding.
        """
        if lengths is not None:
            check_lengths(lengths, hidden_states)
        out = self._out(self._ssm(*self._in(hidden_states))[0])
        return out if lengths is None else mask_frames(out, lengths)

    def allocate_inference_cache(
        self, batch_size: int, max_seqlen: int = 1, dtype: Optional[torch.dtype] = None
    ) -> MambaState:
        """Zero state for ``forward_chunk``/``step`` (``max_seqlen`` is unused: the
        state does not grow with length)."""
        weight = self.in_proj.weight
        conv_dtype = dtype or weight.dtype
        ssm_dtype = torch.float64 if weight.dtype == torch.float64 else torch.float32
        return MambaState(
            weight.new_zeros(batch_size, self.d_inner, self.d_conv - 1, dtype=conv_dtype),
            weight.new_zeros(batch_size, self.d_inner, self.d_state, dtype=ssm_dtype),
        )

    def forward_chunk(
        self, hidden_states: torch.Tensor, state: Optional[MambaState] = None
    ) -> Tuple[torch.Tensor, MambaState]:
        """Streaming: process (batch, T, d_model) after ``state``; return output and new state.

        Feeding a sequence in chunks gives the same output as ``forward`` on the whole.
        """
        if state is None:
            state = self.allocate_inference_cache(hidden_states.shape[0])
        x, z = self._in(hidden_states)
        y, new_state = self._ssm(x, z, state=state, return_state=True)
        return self._out(y), new_state

    def step(
        self, hidden_states: torch.Tensor, state: MambaState
    ) -> Tuple[torch.Tensor, MambaState]:
        """One frame: (batch, 1, d_model) or (batch, d_model); cost independent of position."""
        squeeze = hidden_states.dim() == 2
        out, state = self.forward_chunk(
            hidden_states.unsqueeze(1) if squeeze else hidden_states, state
        )
        return (out.squeeze(1) if squeeze else out), state
