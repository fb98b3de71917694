"""Streaming ASR demo: feed a wav file chunk by chunk to a causal Mamba ASR model,
in PyTorch or, exported, in ONNX Runtime (without importing torch).

    python -m espnet_mamba.bin.stream_asr --asr_train_config exp/.../config.yaml \\
        --asr_model_file exp/.../valid.acc.ave.pth --wav sample.wav [--chunk_ms 160]
    python -m espnet_mamba.bin.stream_asr --onnx_dir exp/.../onnx_streaming --wav sample.wav

Prints each partial hypothesis when it changes, then the final text, the processing
time per chunk (latency beyond the chunk's own duration; after a warm-up on 1 s of
silence) and the real-time factor.
The model needs ``encoder: mamba`` with ``bidirectional: false`` and ``global_mvn`` (or
no) normalization; see :mod:`espnet_mamba.asr.streaming` and, for ``--onnx_dir`` (the
output of ``python -m espnet_mamba.export onnx --task asr --kind streaming``),
:mod:`espnet_mamba.export.runtime`.
"""
import argparse
import time
from typing import List, Optional

import numpy as np

from espnet_mamba.bin import reported
from espnet_mamba.data import DataError, read_mono


def show(result) -> str:
    """The text of a hypothesis, or its tokens when the model has no tokenizer."""
    return result.text if result.text is not None else " ".join(result.tokens)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_mamba.bin.stream_asr", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asr_train_config", help="training config.yaml (PyTorch)")
    parser.add_argument("--asr_model_file", help="model weights (.pth) (PyTorch)")
    parser.add_argument("--onnx_dir", help="exported streaming model (ONNX Runtime)")
    parser.add_argument("--wav", required=True, help="mono audio file at the model's rate")
    parser.add_argument("--chunk_ms", type=float, default=160.0, help="chunk length in ms")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (PyTorch)")
    parser.add_argument("--threads", type=int, default=1,
                        help="ONNX Runtime intra-op threads (ONNX Runtime)")
    return parser


def recognizer(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The streaming recognizer the options name: ONNX Runtime for ``--onnx_dir``,
    PyTorch for ``--asr_train_config`` + ``--asr_model_file``."""
    torch_files = args.asr_train_config is not None or args.asr_model_file is not None
    if args.onnx_dir is not None:
        if torch_files:
            parser.error("give --onnx_dir or --asr_train_config/--asr_model_file, not both")
        from espnet_mamba.export.runtime import OnnxStreamingASR

        return OnnxStreamingASR(args.onnx_dir, threads=args.threads)
    if args.asr_train_config is None or args.asr_model_file is None:
        parser.error("give --asr_train_config and --asr_model_file, or --onnx_dir")
    from espnet_mamba.asr.streaming import StreamingSpeech2Text

    return StreamingSpeech2Text.from_files(args.asr_train_config, args.asr_model_file,
                                           args.device)


def main(argv: Optional[List[str]] = None) -> None:
    parser = get_parser()
    args = parser.parse_args(argv)
    s2t = recognizer(parser, args)
    with reported("stream_asr"):
        audio, rate = read_mono(args.wav, rate=s2t.sample_rate)
        if len(audio) == 0:
            raise DataError(f"{args.wav} has no samples")
    speech = audio.astype(np.float32)
    chunk = max(1, round(rate * args.chunk_ms / 1000))
    s2t(np.zeros(rate, dtype=np.float32))  # warm-up (one-time compiling), not part of the latencies
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
