"""``python -m espnet_mamba.bench deploy``: ONNX Runtime against PyTorch for the same
models, in one process, in turns (random weights: speed does not depend on them).

* streaming: the espeak_en streaming recipe's model (causal ``mamba`` encoder, d_model
  128, 12 layers, 80 log-mel at 16 kHz, ``global_mvn``, CTC), exported with
  :func:`espnet_mamba.export.onnx.export_streaming_asr`; a stream of noise fed in
  ``--chunk-ms`` chunks to :class:`~espnet_mamba.asr.streaming.StreamingSpeech2Text`
  and to :class:`~espnet_mamba.export.runtime.OnnxStreamingASR`: time per chunk (mean,
  95th percentile) and real-time factor, after a 1-s warm-up.
* offline: ConMamba S (``conf/asr/train_asr_conmamba_ctc_s.yaml``) encoder + CTC over
  ``--seconds`` of features (100 frames/s), PyTorch ``encoder`` vs ``encoder.onnx``.
"""
import argparse
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import yaml

from espnet_mamba.bench.configs import CONF_DIR
from espnet_mamba.bench.report import format_table

SAMPLE_RATE = 16000
STREAMING_CONF = {
    "encoder": "mamba",
    "encoder_conf": dict(output_size=128, num_blocks=12, input_layer="conv2d",
                         bidirectional=False, d_state=16, d_conv=4, expand=2),
    "frontend_conf": dict(n_fft=512, win_length=400, hop_length=160, n_mels=80),
    "normalize": "global_mvn", "model_conf": {"ctc_weight": 1.0}, "token_type": "char",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream-seconds", type=float, default=30.0,
                        help="length of the streamed audio")
    parser.add_argument("--chunk-ms", type=float, default=160.0, help="streaming chunk")
    parser.add_argument("--seconds", type=float, nargs="+", default=[10, 60],
                        help="offline encoder input lengths")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and ONNX Runtime intra-op threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the rows here")


def _build(folder: Path, conf: Dict, name: str, vocab: int = 40):
    """An ASR model from ``conf`` (random weights, ``vocab`` char tokens), saved."""
    from espnet2.tasks.asr import ASRTask

    tokens = ["<blank>", "<unk>"] + [f"t{i}" for i in range(vocab - 3)] + ["<sos/eos>"]
    (folder / "tokens.txt").write_text("\n".join(tokens) + "\n")
    if conf.get("normalize") == "global_mvn":
        n = conf["frontend_conf"]["n_mels"]
        np.savez(folder / "stats.npz", count=np.array(1000.0), sum=np.full(n, -5000.0),
                 sum_square=np.full(n, 30000.0))
        conf = dict(conf, normalize_conf={"stats_file": str(folder / "stats.npz")})
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(conf))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(folder / f"{name}.yaml"), "--token_list", str(folder / "tokens.txt")])
    model = ASRTask.build_model(args).eval()
    (folder / f"{name}_config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), folder / f"{name}.pth")
    return model, args


def _stream(recognizer, speech: np.ndarray, chunk: int) -> List[float]:
    """Seconds per chunk (the last entry: ``finish``)."""
    recognizer(np.zeros(SAMPLE_RATE, dtype=np.float32))  # warm-up
    recognizer.reset()
    times = []
    for start in range(0, len(speech), chunk):
        begin = time.perf_counter()
        recognizer(speech[start:start + chunk])
        times.append(time.perf_counter() - begin)
    begin = time.perf_counter()
    recognizer.finish()
    times.append(time.perf_counter() - begin)
    return times


def streaming_rows(folder: Path, args: argparse.Namespace) -> List[Dict]:
    from espnet_mamba.asr.streaming import StreamingSpeech2Text
    from espnet_mamba.export.onnx import export_streaming_asr
    from espnet_mamba.export.runtime import OnnxStreamingASR

    model, train_args = _build(folder, STREAMING_CONF, "streaming")
    params = sum(p.numel() for p in model.parameters())
    export_streaming_asr(model, train_args, folder / "onnx_streaming")
    runners = {"PyTorch": StreamingSpeech2Text(model, model.token_list),
               "ONNX Runtime": OnnxStreamingASR(folder / "onnx_streaming",
                                                threads=args.threads)}
    speech = np.random.default_rng(0).standard_normal(
        int(args.stream_seconds * SAMPLE_RATE)).astype(np.float32) * 0.1
    chunk = round(SAMPLE_RATE * args.chunk_ms / 1000)
    runs: Dict[str, List[List[float]]] = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, runner in runners.items():  # in turns
            runs[name].append(_stream(runner, speech, chunk))
    rows = []
    for name, times in runs.items():
        best = min(times, key=sum)
        ms = 1000 * np.array(best[:-1])
        rows.append(dict(part="streaming", runtime=name, chunk_ms=args.chunk_ms, params=params,
                         mean_ms=float(ms.mean()), p95_ms=float(np.percentile(ms, 95)),
                         rtf=float(np.median([sum(t) for t in times]) / args.stream_seconds)))
    return rows


def offline_conf() -> Dict:
    """ConMamba S (the package's reference config), without feature statistics."""
    conf = yaml.safe_load((CONF_DIR / "asr" / "train_asr_conmamba_ctc_s.yaml").read_text())
    conf.update(normalize=None, normalize_conf={}, token_type="char")
    return conf


def offline_rows(folder: Path, args: argparse.Namespace) -> List[Dict]:
    import onnxruntime

    from espnet_mamba.export.onnx import export_asr_encoder

    model, train_args = _build(folder, offline_conf(), "conmamba")
    export_asr_encoder(model, train_args, folder / "onnx_offline")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = onnxruntime.InferenceSession(str(folder / "onnx_offline" / "encoder.onnx"),
                                           options, providers=["CPUExecutionProvider"])
    rows = []
    for seconds in args.seconds:
        feats = torch.randn(1, int(seconds * 100), 80)
        lens = torch.tensor([feats.shape[1]])
        feeds = {"feats": feats.numpy(), "feats_lengths": lens.numpy()}

        def pytorch():
            with torch.no_grad():
                model.encoder(feats, lens)

        runners = {"PyTorch": pytorch, "ONNX Runtime": lambda: session.run(None, feeds)}
        times: Dict[str, List[float]] = {name: [] for name in runners}
        for name, fn in runners.items():
            fn()  # warm-up
        for _ in range(args.repeats):
            for name, fn in runners.items():
                begin = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - begin)
        for name, t in times.items():
            rows.append(dict(part="offline ConMamba S", runtime=name, seconds=seconds,
                             time_s=float(np.median(t)), rtf=float(np.median(t)) / seconds))
    return rows


def run(args: argparse.Namespace, machine: str) -> List[Dict]:
    torch.set_num_threads(args.threads)
    print(f"# deploy: ONNX Runtime vs PyTorch, {args.threads} thread(s), median of "
          f"{args.repeats} in turns; {machine}")
    with tempfile.TemporaryDirectory() as tmp:
        stream = streaming_rows(Path(tmp), args)
        offline = offline_rows(Path(tmp), args)
    print(f"\nstreaming ({args.stream_seconds:g} s of audio in {args.chunk_ms:g} ms chunks; "
          f"causal Mamba 128 x 12 + CTC, {stream[0]['params'] / 1e6:.2f}M parameters)")
    print(format_table(["runtime", "ms / chunk (mean)", "ms / chunk (p95)", "RTF"],
                       [[r["runtime"], r["mean_ms"], r["p95_ms"], r["rtf"]] for r in stream]))
    print("\noffline encoder + CTC (ConMamba S, 100 frames/s input)")
    print(format_table(["runtime", "audio s", "time s", "RTF"],
                       [[r["runtime"], r["seconds"], r["time_s"], r["rtf"]] for r in offline]))
    return stream + offline
