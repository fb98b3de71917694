"""Separator ``mamba``: the Mamba-TasNet mask network (Speech Slytherin) for ESPnet.

Per-frame LayerNorm -> 1x1 bottleneck -> pre-norm residual Mamba layers -> final norm
-> 1x1 projection to one mask per speaker.  Every step before and after the Mamba
layers works on single frames, and the layers scan each utterance within its own
length, so a padded batch gives every utterance the masks it would get alone.

Sizes of Mamba-TasNet (with ESPnet's ``conv`` encoder/decoder, kernel 16, stride 8,
``channel = d_model``; parameters of the whole model, 2 speakers):

====  =======  ==========  =======  ======  ==========
size  d_model  num_layers  d_state  expand  parameters
====  =======  ==========  =======  ======  ==========
XS    128      16          16       2       2.21M
S     256      16          16       2       7.93M
M     256      32          16       2       15.65M
L     512      32          16       2       58.95M
====  =======  ==========  =======  ======  ==========
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from espnet2.enh.layers.complex_utils import is_complex
from typeguard import typechecked
from espnet2.enh.separator.abs_separator import AbsSeparator
from torch_complex.tensor import ComplexTensor

from espnet_mamba.checks import at_least, one_of, probability
from espnet_mamba.modules.dropout import use_fast_dropout
from espnet_mamba.modules.layers import MambaLayer, make_norm
from espnet_mamba.modules.bimamba import MixerState
from espnet_mamba.modules.padding import check_lengths, mask_frames

NONLINEARS = ("relu", "sigmoid", "tanh", "softmax")


class MambaSeparator(AbsSeparator):
    """Mamba-TasNet mask estimator.

    Args:
        input_dim: Encoder feature size N (the ``conv`` encoder's ``channel``).
        num_spk: Number of speakers (masks).
        d_model: Size of the Mamba layers (bottleneck).
        num_layers: Number of Mamba layers.
        d_state: SSM state size (per head with ``mixer: mamba2``).
        d_conv: Width of the mixer's causal depthwise convolution.
        expand: The mixer's inner size factor.
        bidirectional: Bidirectional Mamba layers (ignored when ``causal``).
        bidirectional_type: ``inner`` (Vim "v2", as Mamba-TasNet) or ``outer``.
        bidirectional_merge: ``add`` or ``concat`` (``outer`` only).
        norm: ``rms_norm`` (as Mamba-TasNet) or ``layer_norm``, in the layers and after.
        dropout_rate: Dropout on each layer's mixer output.
        nonlinear: Mask nonlinearity: ``relu``, ``sigmoid``, ``tanh``, or ``softmax``
            (over speakers).
        causal: Unidirectional Mamba layers; enables :meth:`forward_streaming`.
        mixer: ``mamba`` (Mamba-1 selective scan, Mamba-TasNet) or ``mamba2`` (Mamba-2,
            SSD).
        headdim: Channels per head (``mamba2`` only; divides ``expand * d_model``).
        ngroups: Groups of heads sharing B and C (``mamba2`` only).
        chunk_size: SSD chunk length (``mamba2`` only; speed and memory, not results).

    Raises:
        TypeError: an argument of the wrong type (e.g. ``causal: "false"``).
        ValueError: a size or count below 1, a dropout rate outside [0, 1), an unknown
            choice, ``headdim`` not dividing the inner size.
    """

    @typechecked
    def __init__(
        self,
        input_dim: int,
        num_spk: int = 2,
        d_model: int = 256,
        num_layers: int = 16,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        bidirectional: bool = True,
        bidirectional_type: str = "inner",
        bidirectional_merge: str = "add",
        norm: str = "rms_norm",
        dropout_rate: float = 0.0,
        nonlinear: str = "relu",
        causal: bool = False,
        mixer: str = "mamba",
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 64,
    ):
        super().__init__()
        at_least(1, input_dim=input_dim, num_spk=num_spk, d_model=d_model,
                 num_layers=num_layers)
        probability(dropout_rate=dropout_rate)
        one_of("nonlinear", nonlinear, NONLINEARS)
        self._num_spk = num_spk
        self.nonlinear = nonlinear
        self.causal = causal
        self.input_norm = nn.LayerNorm(input_dim)  # over channels, per frame
        self.bottleneck = nn.Linear(input_dim, d_model, bias=False)
        self.layers = nn.ModuleList(
            MambaLayer(
                d_model, norm=norm, dropout_rate=dropout_rate,
                bidirectional=bidirectional and not causal,
                bidirectional_type=bidirectional_type,
                bidirectional_merge=bidirectional_merge,
                d_state=d_state, d_conv=d_conv, expand=expand, layer_idx=i, mixer=mixer,
                headdim=headdim, ngroups=ngroups, chunk_size=chunk_size,
            )
            for i in range(num_layers)
        )
        self.final_norm = make_norm(norm, d_model)
        self.mask_proj = nn.Linear(d_model, num_spk * input_dim, bias=False)
        self._rescale_out_proj(num_layers)
        use_fast_dropout(self)

    def _rescale_out_proj(self, num_layers: int) -> None:
        """Scale each mixer's ``out_proj`` by 1/sqrt(num_layers) (mamba-ssm/GPT-2
        init for residual stacks, as in Mamba-TasNet)."""
        with torch.no_grad():
            for name, param in self.layers.named_parameters():
                if name.endswith("out_proj.weight"):
                    param /= math.sqrt(num_layers)

    @property
    def num_spk(self) -> int:
        return self._num_spk

    def _masks(self, x: torch.Tensor) -> List[torch.Tensor]:
        """(B, T, d_model) after the layers -> num_spk masks (B, T, N)."""
        batch, frames, _ = x.shape
        score = self.mask_proj(self.final_norm(x)).view(batch, frames, self.num_spk, -1)
        if self.nonlinear == "softmax":
            mask = score.softmax(dim=2)
        else:
            mask = getattr(torch, self.nonlinear)(score)
        return list(mask.unbind(dim=2))

    @staticmethod
    def _mask_input(
        input: Union[torch.Tensor, ComplexTensor], masks: List[torch.Tensor]
    ) -> Tuple[List, OrderedDict]:
        masked = [input * m for m in masks]
        others = OrderedDict((f"mask_spk{i + 1}", m) for i, m in enumerate(masks))
        return masked, others

    def forward(
        self,
        input: Union[torch.Tensor, ComplexTensor],
        ilens: Optional[torch.Tensor],
        additional: Optional[Dict] = None,
    ) -> Tuple[List[Union[torch.Tensor, ComplexTensor]], torch.Tensor, OrderedDict]:
        """Estimate masks and apply them.

        Args:
            input: Encoded mixture (B, T, N), real or complex (masks use its magnitude).
            ilens: Frame counts (B,); ``None`` means all T frames are real.
            additional: Unused (ESPnet interface).

        Returns:
            ``(masked, ilens, others)``: num_spk tensors ``input * mask`` (B, T, N),
            zero at padded frames; ``ilens``; ``others["mask_spk{i}"]`` the masks.
        """
        feature = abs(input) if is_complex(input) else input
        if ilens is None:
            ilens = torch.full((feature.shape[0],), feature.shape[1], dtype=torch.long,
                               device=feature.device)
        check_lengths(ilens, feature, "ilens")
        if isinstance(input, torch.Tensor):  # padding may hold anything: masked output 0
            input = mask_frames(input, ilens)
            feature = abs(input) if is_complex(input) else input
        x = mask_frames(self.bottleneck(self.input_norm(feature)), ilens)
        for layer in self.layers:
            x = layer(x, ilens)
        masks = [mask_frames(m, ilens) for m in self._masks(x)]
        masked, others = self._mask_input(input, masks)
        return masked, ilens, others

    def forward_streaming(
        self,
        input_frame: Union[torch.Tensor, ComplexTensor],
        states: Optional[List[MixerState]] = None,
    ) -> Tuple[List[Union[torch.Tensor, ComplexTensor]], List[MixerState], OrderedDict]:
        """Process the next frames of a stream (``causal`` models only).

        Args:
            input_frame: Next encoded frames (B, T_chunk, N), e.g. one frame.
            states: Per-layer states returned by the previous call; ``None`` to start.

        Returns:
            ``(masked, states, others)`` as ESPnet's streaming separators: the masked
            frames, the states for the next call, and the masks.  Concatenating the
            outputs over a stream equals :meth:`forward` on the whole.

        Raises:
            RuntimeError: the model is not ``causal``.
        """
        if not self.causal:
            raise RuntimeError(
                "forward_streaming needs a causal MambaSeparator (causal: true); this "
                "one has bidirectional layers, which need the whole utterance"
            )
        feature = abs(input_frame) if is_complex(input_frame) else input_frame
        if states is None:
            states = [None] * len(self.layers)
        x = self.bottleneck(self.input_norm(feature))
        new_states = []
        for layer, state in zip(self.layers, states):
            x, state = layer.forward_chunk(x, state)
            new_states.append(state)
        masked, others = self._mask_input(input_frame, self._masks(x))
        return masked, new_states, others
