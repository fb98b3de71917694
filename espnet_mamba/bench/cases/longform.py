"""``python -m espnet_mamba.bench longform``: ESPnet's ``Speech2Text`` on minutes of
audio in one pass.

CTC-only ASR models are built through ``ASRTask.build_model`` from the reference
configs (``conf/asr/train_asr_{conmamba,conformer}_ctc_s.yaml``; ``normalize`` replaced,
as there are no feature statistics; random weights; a ``--vocab``-token list) and saved;
each point then loads one with ``Speech2Text`` (``ctc_weight`` 1.0) in its own process
with time and memory budgets (:func:`espnet_mamba.bench.harness.run_case`) and decodes
random audio of the given length once, after a short warm-up.

A random CTC head has flat posteriors and emits a token at most frames, which no
trained model does and which makes the search, not the encoder, dominate; it is made
confident and mostly blank (:func:`calibrate_ctc`: ``--token-rate`` tokens a second, a
LibriSpeech BPE-5000 model emits about 3).  The ``tokens/min`` column says how many
tokens came out.

ESPnet's own ``make_pad_mask`` builds a (T+1) x (T+1) matrix for 2-D/3-D inputs, so
the frontend's ``LogMel``, the MVN layers and the Conformer encoder take memory and
time quadratic in the number of frames (about 12 GB at 10 minutes of 100 frames/s).
``import espnet_mamba`` replaces it by a linear one with the same masks
(:mod:`espnet_mamba.espnet_fixes`); ``--pad-mask espnet`` puts ESPnet's back in the
measuring processes to compare.

Searches: ``timesync`` (``Speech2Text(time_sync=True)``: ESPnet's time-synchronous CTC
prefix beam search, linear in the number of frames) or ``label`` (ESPnet's default
label-synchronous beam search with the CTC prefix scorer, which rescans all frames for
every output token: quadratic on long audio).
"""
import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Tuple

import torch
import yaml

from espnet_mamba.bench.configs import CONF_DIR
from espnet_mamba.bench.report import format_table
from espnet_mamba.bench.sweep import sweep
from espnet_mamba.espnet_fixes import restore_espnet_pad_mask

SAMPLE_RATE = 16000
CONFIGS = {"conmamba": ("ConMamba S", "train_asr_conmamba_ctc_s.yaml"),
           "conformer": ("Conformer S", "train_asr_conformer_ctc_s.yaml")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``longform`` options (besides the common ``--device``, budgets, ``--json``)."""
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 10],
                        help="audio lengths in minutes")
    parser.add_argument("--models", nargs="+", choices=list(CONFIGS),
                        default=list(CONFIGS))
    parser.add_argument("--conf-dir", type=Path, default=CONF_DIR / "asr",
                        help="folder with the reference configs (default: the package's)")
    parser.add_argument("--normalize", choices=["utterance_mvn", "none"],
                        default="utterance_mvn")
    parser.add_argument("--vocab", type=int, default=5000, help="CTC output tokens")
    parser.add_argument("--token-rate", type=float, default=3.0,
                        help="tokens a second the random CTC head is set to emit")
    parser.add_argument("--ctc-sharpness", type=float, default=10.0,
                        help="factor on the random CTC head (confident posteriors)")
    parser.add_argument("--search", choices=["timesync", "label"], default="timesync")
    parser.add_argument("--beam-size", type=int, default=4)
    parser.add_argument("--pad-mask", choices=["linear", "espnet"], default="linear",
                        help="make_pad_mask: the linear one espnet_mamba installs, or "
                             "ESPnet's own (quadratic)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--encoder-conf", type=yaml.safe_load, default={},
                        help="YAML dict overriding encoder_conf (e.g. tiny sizes for tests)")
    parser.set_defaults(warmup=0, repeats=1, time_budget=900.0, memory_budget=16000.0)


def calibrate_ctc(model: torch.nn.Module, token_rate: float, sharpness: float,
                  seconds: float = 10.0) -> None:
    """Make a random CTC head behave like a trained one: confident (weights scaled by
    ``sharpness``) and mostly blank (a blank bias at which greedy CTC emits a token on
    ``token_rate`` frames a second of random audio).

    Args:
        model: ESPnet ASR model (changed in place).
        token_rate: Non-blank frames a second to aim at.
        sharpness: Factor on the CTC head's weights and biases.
        seconds: Length of the random audio used to set the bias.
    """
    head = model.ctc.ctc_lo
    speech = 0.1 * torch.randn(1, round(seconds * SAMPLE_RATE),
                               generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        head.weight.mul_(sharpness)
        head.bias.mul_(sharpness)
        enc, _ = model.eval().encode(speech, torch.tensor([speech.shape[1]]))
        logits = head(enc[0])
        blank = model.blank_id
        others = torch.cat([logits[:, :blank], logits[:, blank + 1:]], dim=1)
        margin = others.max(dim=1).values - logits[:, blank]  # blank wins below the bias
        keep = min(1.0, token_rate * seconds / len(margin))
        head.bias[blank] += torch.quantile(margin, 1.0 - keep)


def save_model(kind: str, folder: Path, conf_dir: Path, normalize: str, vocab: int,
               token_rate: float, sharpness: float, encoder_conf: Dict) -> Tuple[Path, Path]:
    """Build a CTC-only model from its reference config and save config + weights.

    Args:
        kind: ``conmamba`` or ``conformer``.
        folder: Where to write ``{kind}_config.yaml``, ``{kind}.pth`` and the tokens.
        conf_dir: Folder of the reference configs.
        normalize: ``utterance_mvn`` or ``none``.
        vocab: Number of tokens (blank, unk and sos/eos included).
        token_rate: Tokens a second the random CTC head should emit
            (:func:`calibrate_ctc`).
        sharpness: Factor on the CTC head (:func:`calibrate_ctc`).
        encoder_conf: Entries overriding the config's ``encoder_conf``.

    Returns:
        ``(config, weights)`` paths for ``Speech2Text``.
    """
    from espnet2.tasks.asr import ASRTask

    conf = yaml.safe_load((conf_dir / CONFIGS[kind][1]).read_text())
    conf["encoder_conf"].update(encoder_conf)
    conf.update(normalize=None if normalize == "none" else normalize, normalize_conf={},
                token_type="char")
    tokens = ["<blank>", "<unk>"] + [f"t{i}" for i in range(vocab - 3)] + ["<sos/eos>"]
    (folder / "tokens.txt").write_text("\n".join(tokens) + "\n")
    (folder / f"{kind}.yaml").write_text(yaml.safe_dump(conf))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(folder / f"{kind}.yaml"), "--token_list", str(folder / "tokens.txt")])
    model = ASRTask.build_model(args)
    calibrate_ctc(model, token_rate, sharpness)
    config, weights = folder / f"{kind}_config.yaml", folder / f"{kind}.pth"
    config.write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), weights)
    return config, weights


def build_speech2text(config: str, weights: str, device: str, search: str, beam_size: int):
    """ESPnet's ``Speech2Text`` for a CTC-only model (``ctc_weight`` 1.0).

    Args:
        config: Saved training config.
        weights: Saved weights.
        device: Torch device.
        search: ``timesync`` or ``label`` (see the module docstring).
        beam_size: Beam size.
    """
    from espnet2.bin.asr_inference import Speech2Text

    return Speech2Text(asr_train_config=config, asr_model_file=weights, device=device,
                       ctc_weight=1.0, beam_size=beam_size, time_sync=search == "timesync")


def decode(device: str, seconds: float, mode: str, config: str, weights: str, search: str,
           beam_size: int, pad_mask: str = "linear"
           ) -> Tuple[Callable, None, Callable[[], Dict[str, float]]]:
    """A ``run_case`` factory: ``Speech2Text`` on ``seconds`` of random audio.

    Args:
        device: Torch device.
        seconds: Audio length.
        mode: ``infer`` (the only mode: decoding).
        config: Saved training config.
        weights: Saved weights.
        search: ``timesync`` or ``label`` (see the module docstring).
        beam_size: Beam size.
        pad_mask: ``linear`` (as ``import espnet_mamba`` leaves ESPnet) or ``espnet``
            (ESPnet's own, quadratic).

    Returns:
        ``(forward, None, report)``; ``report`` gives the best frontend + encoder time
        (``encode_s``), the encoder frames and the tokens of the last decode.
    """
    if mode != "infer":
        raise ValueError(f"longform decoding has only mode 'infer'; got {mode!r}")
    if pad_mask == "espnet":
        restore_espnet_pad_mask()
    s2t = build_speech2text(config, weights, device, search, beam_size)
    model, encode = s2t.asr_model, s2t.asr_model.encode
    stats: Dict[str, float] = {"encode_s": float("inf")}

    def timed_encode(*args, **kwargs):
        start = time.perf_counter()
        enc, lens = encode(*args, **kwargs)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stats["encode_s"] = min(stats["encode_s"], time.perf_counter() - start)
        stats["encoder_frames"] = int(lens[0])
        return enc, lens

    model.encode = timed_encode
    generator = torch.Generator().manual_seed(0)
    s2t(0.1 * torch.randn(2 * SAMPLE_RATE, generator=generator))  # warm-up
    stats["encode_s"] = float("inf")
    speech = 0.1 * torch.randn(round(seconds * SAMPLE_RATE), generator=generator)

    def forward():
        results = s2t(speech)
        stats["tokens"] = len(results[0][2])
        return results

    return forward, None, lambda: dict(stats)


def run(args: argparse.Namespace, machine: str) -> None:
    """Save the models, decode every length (interleaved, shortest first; a model that
    fails a point is stopped for the longer ones), print the table.

    Args:
        args: Parsed options (:func:`add_arguments` plus the common ones).
        machine: Description of the machine for the header.
    """
    print(f"# longform: Speech2Text, CTC only, {args.search} search, beam {args.beam_size}, "
          f"vocab {args.vocab}, {args.pad_mask} make_pad_mask, {args.device}; {machine}")
    mark = ""
    if args.encoder_conf:
        mark = "*"
        print(f"# * encoder_conf changed from the reference configs: {args.encoder_conf}")
    with tempfile.TemporaryDirectory(prefix="longform_") as folder:
        models = {}
        for kind in args.models:
            config, weights = save_model(kind, Path(folder), args.conf_dir, args.normalize,
                                         args.vocab, args.token_rate, args.ctc_sharpness,
                                         args.encoder_conf)
            models[CONFIGS[kind][0] + mark] = ("espnet_mamba.bench.cases.longform:decode", dict(
                config=str(config), weights=str(weights), search=args.search,
                beam_size=args.beam_size, pad_mask=args.pad_mask))
        rows = sweep(models, "seconds", [60 * m for m in args.minutes], ["infer"], args.device,
                     args.threads, args.warmup, args.repeats, args.time_budget,
                     args.memory_budget, unit="s")
    header = ["model", "audio min", "total s", "RTF", "frontend+encoder s", "search s",
              "peak MB", "tokens/min", "status"]
    table = []
    for r in rows:
        minutes, total = r["seconds"] / 60, r["time_s"]  # total is None where stopped
        table.append([r["case"], minutes, total, total and total / r["seconds"],
                      r.get("encode_s"), total and total - r["encode_s"], r["peak_mb"],
                      total and r["tokens"] / minutes, r["status"]])
    print(format_table(header, table))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"what": "longform", "machine": machine,
                       "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows},
                      f, indent=1)
