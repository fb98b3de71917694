"""Test helper: run an ``espnet2.bin`` entry point (or ``espnet_mamba.run``); when the
trainer finishes, each process saves its parameters as ``params.rank<RANK>.pth`` in the
output dir, so the ranks of a distributed run can be compared, and prints whether its
process group is still alive.

    python rank_params.py MODULE ARGS...

It imports no espnet_mamba module itself: the components must be registered by the
installed ``espnet_mamba.pth`` or by ``espnet_mamba.run`` as MODULE.
"""
import os
import runpy
import sys

import torch
from espnet2.train.trainer import Trainer

_espnet_run = Trainer.run.__func__


def _run(cls, model, *args, **kwargs):
    _espnet_run(cls, model, *args, **kwargs)
    options = kwargs["trainer_options"] if "trainer_options" in kwargs else args[5]
    rank = os.environ.get("RANK", "single")
    torch.save(model.state_dict(), os.path.join(options.output_dir, f"params.rank{rank}.pth"))
    print(f"rank {rank}: process group alive after Trainer.run: "
          f"{torch.distributed.is_initialized()}", flush=True)


Trainer.run = classmethod(_run)
module = sys.argv[1]
sys.argv = [module] + sys.argv[2:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
