"""Beam-search scoring shared by the Mamba decoders: O(1) state per hypothesis.

A hypothesis' state is one ``(conv, ssm)`` pair per layer (the fields of the mixer's
``MambaState`` or ``Mamba2State`` without the batch dimension, as a plain tuple: ESPnet >=
202609 rebuilds tuples in beam-search states with ``type(t)(iterable)``).
``batch_score`` feeds only the newest token, so a step costs the same at token 1 and
token 200; nothing grows with the prefix.
"""
from typing import Any, List, Optional, Tuple

import torch
from espnet2.asr.decoder.abs_decoder import AbsDecoder

from espnet_mamba.asr.decoder.decoder_layer import MambaDecoderLayer
from espnet_mamba.checks import at_least, probability
from espnet_mamba.compat import BatchScorerInterface
from espnet_mamba.modules.dropout import use_fast_dropout

HypState = List[Tuple[torch.Tensor, torch.Tensor]]  # per layer: (conv, ssm), unbatched


def check_decoder_args(vocab_size: int, encoder_output_size: int, linear_units: int,
                       num_blocks: int, dropout_rate: float) -> None:
    """Ranges of the arguments both decoders take (ValueError naming the argument)."""
    at_least(1, vocab_size=vocab_size, encoder_output_size=encoder_output_size,
             linear_units=linear_units, num_blocks=num_blocks)
    probability(dropout_rate=dropout_rate)


class MambaScorerDecoder(AbsDecoder, BatchScorerInterface):
    """Token embedding, ``decoders`` (layers with ``forward_chunk``), final norm and
    output layer; subclasses add :meth:`_step_memory` and :meth:`batch_init_state`."""

    def __init__(self, vocab_size: int, size: int, dropout_rate: float,
                 layers: List[MambaDecoderLayer]):
        super().__init__()
        self.embed = torch.nn.Sequential(torch.nn.Embedding(vocab_size, size),
                                         torch.nn.Dropout(dropout_rate))
        self.decoders = torch.nn.ModuleList(layers)
        self.after_norm = torch.nn.LayerNorm(size)
        self.output_layer = torch.nn.Linear(size, vocab_size)
        use_fast_dropout(self)

    def _step_memory(self, xs: torch.Tensor) -> Optional[torch.Tensor]:
        """The memory each layer attends to while decoding (None: no source attention)."""
        raise NotImplementedError

    def _empty_state(self, x: torch.Tensor) -> HypState:
        return [tuple(t[0] for t in layer.mamba.allocate_inference_cache(1))
                for layer in self.decoders]

    def init_state(self, x: torch.Tensor) -> HypState:
        return self.batch_init_state(x)

    def batch_score(self, ys: torch.Tensor, states: List[Any], xs: torch.Tensor,
                    return_hs: bool = False) -> Tuple[Any, List[HypState]]:
        """Score the next token of every hypothesis from its newest token and state.

        Args:
            ys: Prefixes, (n_batch, ylen); only ``ys[:, -1]`` is read.
            states: Per-hypothesis states (None: fresh from :meth:`batch_init_state`).
            xs: Encoder output, (n_batch, T, encoder_output_size).
            return_hs: Also return the hidden vector before the output layer.

        Returns:
            log-probabilities (n_batch, vocab) (or ``(logp, hs)``), and the new states.
        """
        states = [self.batch_init_state(xs[i]) if s is None else s
                  for i, s in enumerate(states)]
        memory = self._step_memory(xs)
        x = self.embed(ys[:, -1:])
        new_layers = []
        for i, layer in enumerate(self.decoders):
            state = layer.mamba.State(torch.stack([s[i][0] for s in states]),
                                      torch.stack([s[i][1] for s in states]))
            x, state = layer.forward_chunk(x, state, memory)
            new_layers.append(state)
        hs = self.after_norm(x[:, -1])
        logp = torch.log_softmax(self.output_layer(hs), dim=-1)
        new_states = [[(s.conv[b], s.ssm[b]) for s in new_layers]
                      for b in range(ys.shape[0])]
        return ((logp, hs) if return_hs else logp), new_states

    def score(self, ys: torch.Tensor, state: Any, x: torch.Tensor) -> Tuple[torch.Tensor, Any]:
        """Single-hypothesis version of :meth:`batch_score` (ys: (ylen,), x: (T, D))."""
        logp, states = self.batch_score(ys.unsqueeze(0), [state], x.unsqueeze(0))
        return logp.squeeze(0), states[0]
