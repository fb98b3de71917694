"""Teacher durations of a TTS data dir by CTC forced alignment with a trained ASR model.

    python -m espnet_mamba.bin.align_durations \\
        --asr_exp ../../wordnet_en/asr1/exp/asr_train_asr_conmamba_raw_char \\
        --data_dir dump/raw/train --hop_length 256 --output dump/raw/train/durations

(or ``--tts_config conf/train.yaml`` instead of ``--hop_length``: the hop of its
``feats_extract_conf``, as ``tts.sh --durations_asr_exp`` passes it).

Writes ``<utt> d_1 ... d_N d_eos`` per utterance (ESPnet's ``durations`` file, read as
``text_int``): one value per character of the text as the TTS model tokenizes it
(``--token_type char``, spaces as ``<space>``) and one for ``<sos/eos>``, summing to
the mel frames of the utterance's audio, ``1 + samples // hop_length``
(:mod:`espnet_mamba.tts.durations`).  The ASR model must know every character (its
config's paths are read from its recipe dir, ``<asr_exp>/../..``); audio at another
rate than the ASR model's is resampled for it.
"""
import argparse
import contextlib
from fractions import Fraction
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import yaml

from espnet_mamba.bin import reported
from espnet_mamba.bin.format_data_dir import parse_fs
from espnet_mamba.data import DataError, atomic_write, read_mono, read_table
from espnet_mamba.data.format import change_rate
from espnet_mamba.tts.durations import durations, token_spans


def load_asr(asr_exp: Path, model_file: str):
    """The ASR model of ``asr_exp`` (its config's relative paths from ``asr_exp/../..``)
    and its sampling rate."""
    from espnet2.tasks.asr import ASRTask

    config = asr_exp / "config.yaml"
    model_path = asr_exp / model_file
    for path in (config, model_path):
        if not path.is_file():
            raise DataError(f"missing file: {path} (the ASR experiment to align with)")
    with contextlib.chdir(asr_exp.resolve().parents[1]):
        model, args = ASRTask.build_model_from_file(config.resolve(), model_path.resolve(),
                                                    "cpu")
    return model.eval(), parse_fs(str(args.frontend_conf.get("fs", 16000)))  # e.g. "16k"


def config_hop(config: Path) -> int:
    """``feats_extract_conf.hop_length`` of a TTS training config.

    Raises:
        DataError: no such file, or no positive integer there.
    """
    if not config.is_file():
        raise DataError(f"missing file: {config} (the TTS training config)")
    hop = (yaml.safe_load(config.read_text()) or {}).get("feats_extract_conf", {}).get(
        "hop_length")
    if not isinstance(hop, int) or hop < 1:
        raise DataError(f"{config}: no feats_extract_conf.hop_length (a positive integer)")
    return hop


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asr_exp", type=Path, required=True,
                        help="ASR experiment dir with config.yaml and the model file")
    parser.add_argument("--asr_model", default="valid.acc.ave.pth",
                        help="model file in --asr_exp")
    parser.add_argument("--data_dir", type=Path, required=True,
                        help="TTS data dir with wav.scp and text (as the TTS trains on it)")
    hop = parser.add_mutually_exclusive_group(required=True)
    hop.add_argument("--hop_length", type=int,
                     help="hop of the TTS model's STFT front-end (samples)")
    hop.add_argument("--tts_config", type=Path,
                     help="TTS training config: the hop of its feats_extract_conf")
    parser.add_argument("--output", type=Path, required=True, help="the durations file")
    args = parser.parse_args(argv)
    if args.hop_length is not None and args.hop_length < 1:
        parser.error(f"--hop_length must be >= 1, got {args.hop_length}")
    with reported("align_durations"):
        hop_length = args.hop_length or config_hop(args.tts_config)
        model, asr_fs = load_asr(args.asr_exp, args.asr_model)
        ids = {token: i for i, token in enumerate(model.token_list)}
        wav_scp = read_table(str(args.data_dir / "wav.scp"), "wav.scp")
        texts = read_table(str(args.data_dir / "text"), "text")
        lines = []
        for utt in sorted(texts):
            if utt not in wav_scp:
                raise DataError(f"{utt}: in text but not in wav.scp of {args.data_dir}")
            tokens = ["<space>" if c == " " else c for c in texts[utt]]
            unknown = sorted({t for t in tokens if t not in ids})
            if unknown:
                raise DataError(f"{utt}: the ASR model has no token {unknown[0]!r}")
            audio, rate = read_mono(wav_scp[utt], "audio", utt)
            tts_frames = 1 + len(audio) // hop_length
            audio = change_rate(audio, Fraction(asr_fs, rate))
            speech = torch.from_numpy(np.asarray(audio, dtype=np.float32))[None]
            with torch.no_grad():
                enc, enc_lens = model.encode(speech, torch.tensor([speech.shape[1]]))
                log_probs = model.ctc.log_softmax(enc)[0, : int(enc_lens[0])]
            try:
                spans = token_spans(log_probs, [ids[t] for t in tokens], model.blank_id)
            except DataError as exc:
                raise DataError(f"{utt}: {exc}") from None
            ds = durations(spans, log_probs.shape[0], tts_frames)
            lines.append(f"{utt} {' '.join(map(str, ds))}\n")
        atomic_write(args.output, "".join(lines))
        print(f"{args.output}: durations of {len(lines)} utterances", flush=True)


if __name__ == "__main__":
    main()
