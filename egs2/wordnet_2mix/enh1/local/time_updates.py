"""Seconds per training update (forward, SI-SNR with PIT, backward, Adam step) of
separation configs, on synthetic batches of the configs' shape (``batch_size`` mixtures
of ``preprocessor_conf.speech_segment`` samples, two speakers), the configs alternated in
one process after one warm-up update each; prints the median of 5 per config.  Sets the
recipes' wall-clock budgets without the corpus (validation time is not included).

    taskset -c 0 env OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python local/time_updates.py \\
        conf/train_enh_mamba_tasnet.yaml conf/train_enh_conv_tasnet.yaml \\
        conf/train_enh_dprnn.yaml
"""
import sys
from pathlib import Path
from typing import Dict, List

import torch
import yaml
from espnet2.tasks.enh import EnhancementTask

import espnet_mamba  # noqa: F401  (registers the project's separator)
from espnet_mamba.bench.cases.training import print_update_times


def build_all(configs: List[Path]) -> Dict[str, torch.nn.Module]:
    """config name -> its model (train mode)."""
    models = {}
    for config in configs:
        args = EnhancementTask.get_parser().parse_args(["--config", str(config)])
        models[config.name] = EnhancementTask.build_model(args).train()
    return models


def batch(config: Path) -> dict:
    """Random mixtures and references of the config's batch shape (seed 0)."""
    conf = yaml.safe_load(config.read_text())
    size, samples = conf["batch_size"], conf["preprocessor_conf"]["speech_segment"]
    g = torch.Generator().manual_seed(0)
    refs = [0.1 * torch.randn(size, samples, generator=g) for _ in range(2)]
    return dict(speech_mix=refs[0] + refs[1],
                speech_mix_lengths=torch.full((size,), samples, dtype=torch.long),
                speech_ref1=refs[0], speech_ref2=refs[1])


def main() -> None:
    torch.set_num_threads(1)
    configs = [Path(p) for p in sys.argv[1:]]
    if not configs:
        raise SystemExit(__doc__)
    models = build_all(configs)
    inputs = {config.name: batch(config) for config in configs}
    print_update_times(models, inputs)


if __name__ == "__main__":
    main()
