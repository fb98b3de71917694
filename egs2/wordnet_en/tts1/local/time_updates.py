"""Seconds per training update (forward, backward, Adam step) of TTS configs, on
synthetic batches with this corpus's means (16 utterances of 36-48 characters, 2.5 s
per 42 characters at 16 kHz, even teacher durations for the models that take them),
the configs alternated in one process after one warm-up update each; prints the
median of 5 per config.

    taskset -c 0 env OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        python local/time_updates.py conf/train_mamba_fastspeech.yaml conf/train_fastspeech.yaml
"""
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import yaml
from espnet2.tasks.tts import TTSTask

import espnet_mamba  # noqa: F401  (registers the project's TTS models)
from espnet_mamba.bench.cases.training import print_update_times
from espnet_mamba.tts.durations import takes_durations

BATCH, TOKENS, HOP, FS = 16, 31, 256, 16000


def build_all(configs: List[Path], tmp: Path) -> Dict[str, torch.nn.Module]:
    """config name -> its model (train mode), with a token list of TOKENS and unit
    feature statistics written once into ``tmp``."""
    tokens, stats = tmp / "tokens.txt", tmp / "stats.npz"
    tokens.write_text("\n".join(f"t{i}" for i in range(TOKENS)) + "\n")
    np.savez(stats, count=np.array(10.0), sum=np.zeros(80), sum_square=np.full(80, 10.0))
    models = {}
    for config in configs:
        args = TTSTask.get_parser().parse_args(
            ["--config", str(config), "--token_list", str(tokens), "--token_type", "char",
             "--normalize_conf", f"stats_file={stats}"])
        models[config.name] = TTSTask.build_model(args).train()
    return models


def batch() -> dict:
    g = torch.Generator().manual_seed(0)
    text_lengths = torch.randint(36, 49, (BATCH,), generator=g).sort(descending=True).values
    speech_lengths = (text_lengths / 42 * 2.5 * FS).long()
    text = torch.randint(1, TOKENS - 1, (BATCH, int(text_lengths[0])), generator=g)
    durations = torch.zeros(BATCH, int(text_lengths[0]) + 1, dtype=torch.long)
    for i, (n, frames) in enumerate(zip(text_lengths + 1, speech_lengths // HOP + 1)):
        text[i, n - 1:] = 0
        durations[i, :n] = frames // n
        durations[i, :frames - durations[i].sum()] += 1
    return dict(text=text, text_lengths=text_lengths, durations=durations,
                durations_lengths=text_lengths + 1, speech_lengths=speech_lengths,
                speech=0.1 * torch.randn(BATCH, int(speech_lengths[0]), generator=g))


def main() -> None:
    torch.set_num_threads(1)
    configs = [Path(p) for p in sys.argv[1:]]
    with tempfile.TemporaryDirectory() as tmp:
        models = build_all(configs, Path(tmp))
    inputs = batch()
    no_durations = {k: v for k, v in inputs.items() if not k.startswith("durations")}
    tts = {config.name: yaml.safe_load(config.read_text())["tts"] for config in configs}
    print_update_times(models, {name: inputs if takes_durations(tts[name]) else no_durations
                                for name in models})


if __name__ == "__main__":
    main()
