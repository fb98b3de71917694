"""Streaming ASR demo: feed a wav file chunk by chunk to a causal Mamba ASR model.

    python -m espnet_mamba.bin.stream_asr --asr_train_config exp/.../config.yaml \\
        --asr_model_file exp/.../valid.acc.ave.pth --wav sample.wav [--chunk_ms 160]

Prints each partial hypothesis when it changes, then the final text, the processing
time per chunk (latency beyond the chunk's own duration; after a warm-up on 1 s of
silence) and the real-time factor.
The model needs ``encoder: mamba`` with ``bidirectional: false`` and ``global_mvn`` (or
no) normalization; see :mod:`espnet_mamba.asr.streaming`.
"""
import argparse
import time
from typing import List, Optional

import torch

from espnet_mamba.asr.streaming import StreamingResult, StreamingSpeech2Text
from espnet_mamba.bin import reported
from espnet_mamba.data import DataError, read_mono


def show(result: StreamingResult) -> str:
    """The text of a hypothesis, or its tokens when the model has no tokenizer."""
    return result.text if result.text is not None else " ".join(result.tokens)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_mamba.bin.stream_asr", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asr_train_config", required=True, help="training config.yaml")
    parser.add_argument("--asr_model_file", required=True, help="model weights (.pth)")
    parser.add_argument("--wav", required=True, help="mono audio file at the model's rate")
    parser.add_argument("--chunk_ms", type=float, default=160.0, help="chunk length in ms")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    s2t = StreamingSpeech2Text.from_files(args.asr_train_config, args.asr_model_file,
                                          args.device)
    with reported("stream_asr"):
        audio, rate = read_mono(args.wav, rate=s2t.sample_rate)
        if len(audio) == 0:
            raise DataError(f"{args.wav} has no samples")
    speech = torch.from_numpy(audio.astype("float32"))
    chunk = max(1, round(rate * args.chunk_ms / 1000))
    s2t(torch.zeros(rate))  # warm-up (one-time compiling), not part of the latencies
    s2t.reset()
    latencies, shown = [], ""
    for start in range(0, len(speech), chunk):
        begin = time.perf_counter()
        partial = show(s2t(speech[start:start + chunk]))
        latencies.append(time.perf_counter() - begin)
        if partial != shown:
            shown = partial
            print(f"[{min(start + chunk, len(speech)) / rate:7.2f} s] partial: {partial}",
                  flush=True)
    begin = time.perf_counter()
    final = show(s2t.finish())
    latencies.append(time.perf_counter() - begin)
    duration = len(speech) / rate
    ms = [1000 * t for t in latencies]
    print(f"final: {final}")
    print(f"latency per chunk ({args.chunk_ms:g} ms chunks, {len(ms)} chunks): "
          f"mean {sum(ms) / len(ms):.1f} ms, max {max(ms):.1f} ms")
    print(f"real-time factor: {sum(latencies) / duration:.3f} ({duration:.2f} s of audio)")


if __name__ == "__main__":
    main()
