"""Teacher durations of a TTS data dir by CTC forced alignment with a trained ASR model.

    python -m espnet_mamba.bin.align_durations \\
        --asr_exp ../../wordnet_en/asr1/exp/asr_train_asr_conmamba_raw_char \\
        --data_dir dump/raw/train --hop_length 256 --output dump/raw/train/durations

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
from math import gcd
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
from scipy.signal import resample_poly

from espnet_mamba.bin import reported
from espnet_mamba.data import DataError, atomic_write, read_mono, read_table
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
    fs = str(args.frontend_conf.get("fs", 16000))  # asr.sh gives "16k"
    return model.eval(), int(float(fs[:-1]) * 1000) if fs.endswith("k") else int(fs)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asr_exp", type=Path, required=True,
                        help="ASR experiment dir with config.yaml and the model file")
    parser.add_argument("--asr_model", default="valid.acc.ave.pth",
                        help="model file in --asr_exp")
    parser.add_argument("--data_dir", type=Path, required=True,
                        help="TTS data dir with wav.scp and text (as the TTS trains on it)")
    parser.add_argument("--hop_length", type=int, required=True,
                        help="hop of the TTS model's STFT front-end (samples)")
    parser.add_argument("--output", type=Path, required=True, help="the durations file")
    args = parser.parse_args(argv)
    if args.hop_length < 1:
        parser.error(f"--hop_length must be >= 1, got {args.hop_length}")
    with reported("align_durations"):
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
            tts_frames = 1 + len(audio) // args.hop_length
            if rate != asr_fs:
                g = gcd(asr_fs, rate)
                audio = resample_poly(audio, asr_fs // g, rate // g)
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
