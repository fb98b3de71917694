"""Export trained ESPnet models of this project to ONNX (``torch.onnx.export``, the
``torch.export``-based exporter), with a ``config.json`` that lets ONNX Runtime run them
without torch.

Every export writes ``<output_dir>/config.json`` and its graphs, checks each graph
with ``onnx.checker`` and compares ONNX Runtime with PyTorch on inputs of two lengths
(one not seen at export); a difference above ``1e-4`` of the output's scale raises.
``config.json`` is written last (atomically): a dir without it is an unfinished export.

=============  ===================================================================
kind           graphs (inputs -> outputs)
=============  ===================================================================
streaming      ``frontend.onnx`` (frames of samples -> features) and
               ``streaming_asr.onnx`` (features, carried frames, layer states ->
               CTC log-probabilities, carried frames, layer states)
offline        ``frontend.onnx`` and ``encoder.onnx`` (padded features, lengths ->
               encoder output, output lengths, CTC log-probabilities)
enh            ``separator.onnx`` (mixture, lengths -> separated waveforms)
=============  ===================================================================
"""
import copy
import json
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
import torch

from espnet_mamba.export.graphs import (
    EncoderGraph,
    ExportError,
    FeatureGraph,
    SeparatorGraph,
    StreamingASRGraph,
)

OPSET = 18
TOLERANCE = 1e-4  # largest |onnxruntime - pytorch| / max |pytorch|
CONFIG = "config.json"


def load_model(task: str, train_config: Union[str, Path], model_file: Union[str, Path]):
    """``(model, args)`` of a trained model as ESPnet's inference scripts build it."""
    if task == "asr":
        from espnet2.tasks.asr import ASRTask as Task
    elif task == "enh":
        from espnet2.tasks.enh import EnhancementTask as Task
    else:
        raise ExportError(f"task must be 'asr' or 'enh'; got {task!r}")
    for name, path in (("train_config", train_config), ("model_file", model_file)):
        if not Path(path).is_file():
            raise ExportError(f"{name}: no such file: {path}")
    model, args = Task.build_model_from_file(train_config, model_file, "cpu")
    return model.eval(), args


def _export(graph: torch.nn.Module, args: Tuple[torch.Tensor, ...], dynamic_shapes,
            input_names: List[str], output_names: List[str], path: Path, opset: int) -> None:
    import onnx

    graph = copy.deepcopy(graph)  # without its dropouts (identities in eval mode, but
    for name, module in list(graph.named_modules()):  # they make export guard on lengths)
        if isinstance(module, torch.nn.Dropout):
            parent, _, child = name.rpartition(".")
            setattr(graph.get_submodule(parent), child, torch.nn.Identity())
    with torch.no_grad():
        program = torch.export.export(graph, args, dynamic_shapes=dynamic_shapes)
        onnx_program = torch.onnx.export(program, input_names=input_names,
                                         output_names=output_names, opset_version=opset,
                                         verbose=False)
    onnx_program.save(str(path))
    onnx.checker.check_model(str(path), full_check=True)


def _verify(path: Path, graph: torch.nn.Module, inputs: Sequence[Tuple[torch.Tensor, ...]],
            input_names: List[str]) -> float:
    """Largest relative difference of ONNX Runtime from PyTorch over ``inputs``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for args in inputs:
        with torch.no_grad():
            ref = graph(*args)
        ref = ref if isinstance(ref, tuple) else (ref,)
        out = session.run(None, {n: a.numpy() for n, a in zip(input_names, args)})
        for o, r in zip(out, ref):
            r = r.numpy()
            if o.shape != r.shape:
                raise ExportError(f"{path}: onnxruntime output shape {o.shape} differs from "
                                  f"PyTorch's {r.shape}")
            if r.size and np.issubdtype(r.dtype, np.floating):
                scale = max(float(np.abs(r).max()), 1e-12)
                worst = max(worst, float(np.abs(o - r).max()) / scale)
            elif r.size and not np.array_equal(o, r):
                raise ExportError(f"{path}: onnxruntime integer output differs from PyTorch")
    if worst > TOLERANCE:
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {worst:.2e} of the "
                          f"output's scale (tolerance {TOLERANCE:g})")
    return worst


def _start(output_dir: Union[str, Path], model: torch.nn.Module, graph_class: type
           ) -> Tuple[Path, torch.nn.Module, torch.nn.Module]:
    """The output dir (made), the model on the CPU in eval mode, and its graph module."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu").eval()
    return output_dir, model, graph_class(model).eval()


def _frontend(model: torch.nn.Module, output_dir: Path, opset: int) -> Dict:
    graph = FeatureGraph(model.frontend, model.normalize).eval()
    path = output_dir / "frontend.onnx"
    frames = torch.export.Dim("frames", min=1)
    _export(graph, (torch.randn(8, graph.n_fft),), ({0: frames},), ["frames"], ["feats"],
            path, opset)
    error = _verify(path, graph, [(torch.randn(n, graph.n_fft),) for n in (8, 3)],
                    ["frames"])
    stft = model.frontend.stft
    return dict(graph=path.name, sample_rate=int(model.frontend.logmel.mel_options["sr"]),
                n_fft=graph.n_fft, hop_length=graph.hop, center=bool(stft.center),
                feats_size=int(model.frontend.output_size()), max_rel_error=error)


def _tokens(model: torch.nn.Module, args) -> Dict:
    token_type = getattr(args, "token_type", None)
    return dict(token_list=list(model.token_list), token_type=token_type,
                blank_id=int(model.blank_id),
                space_symbol="<space>" if token_type == "char" else None)


def _write_config(output_dir: Path, config: Dict) -> Path:
    from espnet_mamba import __version__

    config = dict(format=1, espnet_mamba_version=__version__, **config)
    path = output_dir / CONFIG
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def export_streaming_asr(model: torch.nn.Module, args, output_dir: Union[str, Path],
                         opset: int = OPSET) -> Path:
    """Export an ASR model with a causal ``mamba`` encoder for chunked decoding.

    Args:
        model: ESPnet ASR model (``encoder: mamba``, ``bidirectional: false``, default
            frontend, ``global_mvn`` or no normalization).
        args: Its training arguments (token type).
        output_dir: Where ``frontend.onnx``, ``streaming_asr.onnx`` and ``config.json``
            are written.
        opset: ONNX opset.

    Returns:
        The path of ``config.json``.

    Raises:
        ExportError: a part of the model cannot stream or be exported, or the exported
            graph differs from PyTorch.
    """
    output_dir, model, graph = _start(output_dir, model, StreamingASRGraph)
    frontend = _frontend(model, output_dir, opset)
    size = frontend["feats_size"]
    states = [torch.zeros(shape) for _, shape in graph.state_shapes]
    names = ["feats", "cache"] + [name for name, _ in graph.state_shapes]
    outputs = ["logp", "cache_out"] + [f"{name}_out" for name, _ in graph.state_shapes]
    stride, cache = graph.stride, graph.cache_frames
    chunks = torch.export.Dim("chunks", min=1)

    def example(m: int) -> Tuple[torch.Tensor, ...]:
        return (torch.randn(1, stride * m, size), torch.randn(1, cache, size),
                *[torch.randn(s.shape) * 0.1 for s in states])

    path = output_dir / "streaming_asr.onnx"
    _export(graph, example(2), ({1: stride * chunks}, None, (None,) * len(states)), names,
            outputs, path, opset)
    error = _verify(path, graph, [example(2), example(5)], names)
    return _write_config(output_dir, dict(
        task="asr", kind="streaming", opset=opset, frontend=frontend, graph=path.name,
        stride=stride, cache_frames=cache, output_size=model.encoder.output_size(),
        states=[dict(name=n, shape=list(s)) for n, s in graph.state_shapes],
        max_rel_error=error, **_tokens(model, args)))


def export_asr_encoder(model: torch.nn.Module, args, output_dir: Union[str, Path],
                       opset: int = OPSET) -> Path:
    """Export the frontend and the encoder (+ CTC log-probabilities) of an ASR model
    (``mamba`` uni/bidirectional, ``conmamba``) with dynamic batch and length axes.

    Args:
        model: ESPnet ASR model.
        args: Its training arguments (token type).
        output_dir: Where ``frontend.onnx``, ``encoder.onnx`` and ``config.json`` go.
        opset: ONNX opset.

    Returns:
        The path of ``config.json``.

    Raises:
        ExportError: a part of the model cannot be exported, or the exported graph
            differs from PyTorch.
    """
    output_dir, model, graph = _start(output_dir, model, EncoderGraph)
    frontend = _frontend(model, output_dir, opset)
    size = frontend["feats_size"]
    min_length = _frames_for(model.encoder.embed, 2)  # one output frame would specialise
    batch = torch.export.Dim("batch", min=1)
    time = torch.export.Dim("time", min=min_length)

    def example(lengths: List[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(len(lengths), max(lengths), size), torch.tensor(lengths)

    names = ["feats", "feats_lengths"]
    path = output_dir / "encoder.onnx"
    _export(graph, example([40, 31]), ({0: batch, 1: time}, {0: batch}), names,
            ["encoder_out", "encoder_out_lens", "ctc_logp"], path, opset)
    error = _verify(path, graph, [example([40, 31]), example([97, 60, 25])], names)
    return _write_config(output_dir, dict(
        task="asr", kind="offline", opset=opset, frontend=frontend, graph=path.name,
        min_frames=min_length, output_size=model.encoder.output_size(),
        max_rel_error=error, **_tokens(model, args)))


def _frames_for(embed: torch.nn.Module, outputs: int) -> int:
    """Fewest input frames that give ``outputs`` frames after the input layer."""
    frames = embed.min_length
    while int(embed.output_lengths(torch.tensor(frames))) < outputs:
        frames += 1
    return frames


def export_enh(model: torch.nn.Module, output_dir: Union[str, Path],
               opset: int = OPSET) -> Path:
    """Export an enhancement model (time-domain encoder, separator, decoder) from
    mixture to separated waveforms, with dynamic batch and sample axes.

    Args:
        model: ESPnet enhancement model, e.g. ``separator: mamba`` with ``conv``
            encoder/decoder.
        output_dir: Where ``separator.onnx`` and ``config.json`` go.
        opset: ONNX opset.

    Returns:
        The path of ``config.json``.

    Raises:
        ExportError: a part of the model cannot be exported, or the exported graph
            differs from PyTorch.
    """
    output_dir, model, graph = _start(output_dir, model, SeparatorGraph)
    stride = graph.stride
    batch = torch.export.Dim("batch", min=1)
    frames = torch.export.Dim("frames", min=max(32, graph.kernel_size // stride + 2))

    def example(lengths: List[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        padded = -(-max(lengths) // stride) * stride
        return torch.randn(len(lengths), padded) * 0.1, torch.tensor(lengths)

    names = ["speech_mix", "lengths"]
    path = output_dir / "separator.onnx"
    _export(graph, example([4000, 3100]), ({0: batch, 1: stride * frames}, {0: batch}),
            names, ["speech"], path, opset)
    error = _verify(path, graph, [example([4000, 3100]), example([6001, 2500, 999])],
                    names)
    return _write_config(output_dir, dict(
        task="enh", kind="enh", opset=opset, graph=path.name, num_spk=int(model.num_spk),
        stride=stride, min_samples=stride * frames.min, max_rel_error=error))


def export_onnx(task: str, kind: str, train_config: Union[str, Path],
                model_file: Union[str, Path], output_dir: Union[str, Path],
                opset: int = OPSET) -> Path:
    """Load a trained model and export it: ``task`` ``asr`` with ``kind``
    ``streaming`` or ``offline``, or ``enh``.  Returns the path of ``config.json``."""
    model, args = load_model(task, train_config, model_file)
    if task == "enh":
        return export_enh(model, output_dir, opset)
    if kind == "streaming":
        return export_streaming_asr(model, args, output_dir, opset)
    if kind == "offline":
        return export_asr_encoder(model, args, output_dir, opset)
    raise ExportError(f"kind must be 'streaming' or 'offline' for asr; got {kind!r}")
