"""Beam-search step time against prefix length: ``python -m espnet_mamba.bench decoders``.

Times one ``batch_score`` call (a beam of hypotheses, one new token each) after prefixes
of growing length, for the project's cached Mamba decoders and ESPnet's Transformer
decoder (which re-reads its cached prefix through self-attention at every step).
"""
import time
from typing import Dict, List

import torch

from espnet_mamba.asr.decoder.cross_mamba_decoder import CrossMambaDecoder
from espnet_mamba.asr.decoder.mamba_decoder import MambaDecoder


def build(name: str, vocab: int, size: int, layers: int) -> torch.nn.Module:
    """Decoders of one size (4 heads, FFN 4 x size)."""
    if name == "mamba":
        return MambaDecoder(vocab, size, linear_units=4 * size, num_blocks=layers)
    if name == "cross_mamba":
        return CrossMambaDecoder(vocab, size, linear_units=4 * size, num_blocks=layers)
    from espnet2.asr.decoder.transformer_decoder import TransformerDecoder

    return TransformerDecoder(vocab, size, linear_units=4 * size, num_blocks=layers)


@torch.no_grad()
def step_times(decoder: torch.nn.Module, prefixes: List[int], beam: int, frames: int,
               size: int, vocab: int, repeats: int = 5) -> Dict[int, float]:
    """Seconds per ``batch_score`` step once the prefix has each length in ``prefixes``."""
    decoder.eval()
    memory = torch.randn(frames, size)
    xs = memory.expand(beam, -1, -1)
    states = [decoder.batch_init_state(memory)] * beam
    ys = torch.zeros(beam, 1, dtype=torch.long)
    out: Dict[int, float] = {}
    for length in range(1, max(prefixes) + 1):
        if length in prefixes:
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                decoder.batch_score(ys, states, xs)
                times.append(time.perf_counter() - start)
            out[length] = min(times)
        _, states = decoder.batch_score(ys, states, xs)
        ys = torch.cat([ys, torch.randint(0, vocab, (beam, 1))], dim=1)
    return out


def run(prefixes: List[int], beam: int = 10, frames: int = 500, size: int = 256,
        layers: int = 6, vocab: int = 5000) -> List[dict]:
    """Rows of (decoder, prefix length, ms per step) for the three decoders."""
    rows = []
    for name in ("mamba", "cross_mamba", "transformer"):
        times = step_times(build(name, vocab, size, layers), prefixes, beam, frames, size,
                           vocab)
        rows += [dict(decoder=name, prefix=p, step_ms=1000 * t) for p, t in times.items()]
    return rows
