"""Fixes to ESPnet, applied when ``espnet_mamba`` is imported.

1. ``make_pad_mask``: for 2-D/3-D inputs ESPnet builds a (T+1) x (T+1) boolean
   matrix and picks rows of it, so the frontend (``LogMel``) and the feature
   normalisation (``GlobalMVN``/``UtteranceMVN``) take memory and time quadratic in
   the number of frames: about 12 GB at 10 minutes of 100 frames/s.
   :func:`linear_pad_mask` returns the same masks in linear memory and replaces
   ESPnet's ``_make_pad_mask_traceable`` (the only change: memory and speed).  ESPnet
   changed what a zero length gives between releases (202511: no padding; 202611: all
   padding), so at patch time the installed function is probed on small inputs: the
   replacement takes the semantics that reproduce it exactly on every probe, and is not
   installed if none does, or if ESPnet's function no longer builds a quadratic matrix.
2. ``BeamSearchTimeSync`` (``Speech2Text(time_sync=True)`` / ``asr_inference
   --time_sync true``, the search for long recordings) lacks the ``nn_dict`` that
   ESPnet 202511's ``Speech2Text`` reads, so it fails with an AttributeError; an
   empty ``nn_dict`` makes it run.  Its prefixes are tuples, so each frame costs time
   proportional to the output so far (quadratic in the length overall); without
   decoder or LM scores, :func:`espnet_mamba.asr.ctc_search.time_sync_ctc_search`
   (the same search on a prefix tree, linear) runs instead.
3. ``Trainer.run`` never calls ``torch.distributed.destroy_process_group``, so a
   distributed run's processes exit with the process group alive; with gloo a rank then
   sometimes aborts while the interpreter shuts down ("terminate called without an
   active exception", SIGABRT: pytorch/pytorch#190489) after training finished, and
   torchrun reports the whole run as failed (seen in CI: a two-rank run of
   ``test_distributed_training.py``).  After a run that ESPnet's ``DistributedOption``
   made distributed returns normally, the process group is destroyed, as PyTorch's
   documentation asks; a run that raises leaves it alone (destroying it could wait on a
   rank that is stuck in a collective).

Each fix is applied when its ESPnet module is imported (or at once if it already
is), through :mod:`espnet_mamba.import_hook` (:func:`install`), and only where the
attribute it fixes exists.  ``ESPNET_MAMBA_ESPNET_FIXES=0`` in the environment turns
them off.  :data:`STATUS` says, per fixed module, whether its fix is active and why
(``python -m espnet_mamba.selfcheck`` prints it; also logged at debug level).
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Callable, Dict, Optional

from espnet_mamba.import_hook import after_import

if TYPE_CHECKING:  # torch is imported by the fixes only: ``import espnet_mamba`` stays light
    import torch

log = logging.getLogger(__name__)

# module name -> "active: ..." or "not applied: ..."
STATUS: Dict[str, str] = {}

# What a zero length gives in the installed ESPnet (decided by the probe; None: not yet).
_ZERO_LENGTH_PADDED: Optional[bool] = None


def linear_pad_mask(lengths: torch.Tensor, xs: Optional[torch.Tensor] = None,
                    length_dim: int = -1, maxlen: Optional[int] = None,
                    zero_length_padded: Optional[bool] = None) -> torch.Tensor:
    """ESPnet's ``_make_pad_mask_traceable`` in linear memory: True at padded positions,
    shaped like ``xs`` or (batch, maxlen).

    Args:
        lengths: Lengths, (batch,).
        xs: Reference tensor, 2-D or 3-D, or ``None``.
        length_dim: Time axis of ``xs`` (1, 2 or -1).
        maxlen: Mask length when ``xs`` is ``None`` (default: the longest length).
        zero_length_padded: Whether a zero length masks the whole row (ESPnet >=
            202611) or nothing (202511); ``None``: as the installed ESPnet (probed when
            the fix was applied; 202611's behaviour before that).
    """
    import torch

    if zero_length_padded is None:
        zero_length_padded = _ZERO_LENGTH_PADDED is not False
    if xs is not None and xs.dim() == 3 and length_dim not in (1, 2, -1):
        length_dim = -1  # as ESPnet, which warns and uses -1
    if maxlen is not None:
        assert xs is None and maxlen >= lengths.max()
    elif xs is not None:
        maxlen = xs.shape[length_dim]
    else:
        maxlen = int(lengths.max())
    device = lengths.device if xs is None else xs.device
    lengths = lengths.to(device).clamp(max=maxlen).long()
    if not zero_length_padded:
        lengths = torch.where(lengths == 0, torch.full_like(lengths, maxlen), lengths)
    mask = torch.arange(maxlen, device=device) >= lengths[:, None]
    if xs is None or xs.dim() == 2:
        return mask
    if length_dim == 1:
        return mask[:, :, None].expand(-1, -1, xs.shape[2]).contiguous()
    return mask[:, None, :].expand(-1, xs.shape[1], -1).contiguous()


def _pad_mask_probes():
    """Small (lengths, xs, length_dim, maxlen) cases, zero lengths included."""
    import torch

    lengths = torch.tensor([9, 5, 0])
    yield torch.tensor([9, 5, 1, 0, 12]), None, -1, None
    yield lengths, None, -1, 14
    for shape, dim in (((3, 9), -1), ((3, 9, 4), 1), ((3, 4, 9), -1), ((3, 4, 9), 2)):
        yield lengths, torch.zeros(shape), dim, None


def _largest_intermediate(fn, *args) -> int:
    """The most elements of any tensor an op made while ``fn(*args)`` ran."""
    from torch.utils._python_dispatch import TorchDispatchMode

    sizes = [0]

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if hasattr(out, "numel"):
                sizes.append(out.numel())
            return out

    with Record():
        fn(*args)
    return max(sizes)


def _matching_semantics(original: Callable) -> Optional[bool]:
    """The ``zero_length_padded`` with which :func:`linear_pad_mask` equals ``original``
    on every probe, or None if neither does."""
    import torch

    for zero_length_padded in (True, False):
        if all(torch.equal(original(*case), linear_pad_mask(
                *case, zero_length_padded=zero_length_padded)) for case in _pad_mask_probes()):
            return zero_length_padded
    return None


_ESPNET_PAD_MASK: Dict[str, Callable] = {}  # module name -> ESPnet's own function


def _fix_pad_mask(module) -> None:
    global _ZERO_LENGTH_PADDED
    import torch

    original = getattr(module, "_make_pad_mask_traceable", None)
    if original is None:
        STATUS[module.__name__] = "not applied: ESPnet has no _make_pad_mask_traceable"
    elif original is not linear_pad_mask:
        # 2 x 256 frames: a quadratic version makes a 257 x 257 matrix on the way
        n = _largest_intermediate(original, torch.tensor([256, 3]), None, -1, None)
        semantics = _matching_semantics(original)
        if n <= 4 * 2 * 256:
            STATUS[module.__name__] = ("not applied: ESPnet's _make_pad_mask_traceable is "
                                       "already linear in memory")
        elif semantics is None:
            STATUS[module.__name__] = ("not applied: ESPnet's _make_pad_mask_traceable "
                                       "gives masks the linear version does not reproduce")
        else:
            _ZERO_LENGTH_PADDED = semantics
            _ESPNET_PAD_MASK[module.__name__] = original
            module._make_pad_mask_traceable = linear_pad_mask
            STATUS[module.__name__] = (
                "active: linear make_pad_mask (a zero length masks "
                f"{'the whole row' if semantics else 'nothing'}, as the installed ESPnet)")
    log.debug("espnet_fixes %s: %s", module.__name__, STATUS[module.__name__])


def restore_espnet_pad_mask() -> None:
    """Put ESPnet's quadratic ``_make_pad_mask_traceable`` back in this process (for
    benchmarks that compare the two)."""
    import sys

    for name, original in _ESPNET_PAD_MASK.items():
        sys.modules[name]._make_pad_mask_traceable = original


def _fix_time_sync(module) -> None:
    import torch

    cls = getattr(module, "BeamSearchTimeSync", None)
    if cls is None:
        STATUS[module.__name__] = "not applied: ESPnet has no BeamSearchTimeSync"
        return
    if getattr(cls.forward, "espnet_forward", None) is not None:
        return
    if not hasattr(cls, "nn_dict"):
        cls.nn_dict = property(lambda self: torch.nn.ModuleDict())
    espnet_forward = cls.forward

    def forward(self, x, maxlenratio: float = 0.0, minlenratio: float = 0.0):
        if (self.decoder is not None and self.decoder_weight > 0) or (
                self.lm is not None and self.lm_weight > 0):
            return espnet_forward(self, x, maxlenratio, minlenratio)
        from espnet_mamba.asr.ctc_search import time_sync_ctc_search

        log_probs = self.ctc.log_softmax(x.unsqueeze(0))[0].detach().cpu().numpy()
        found = time_sync_ctc_search(log_probs, self.beam_size, self.pre_beam_size,
                                     self.blank, self.sos, self.ctc_weight, self.penalty)
        return [module.Hypothesis(yseq=torch.tensor(labels + [self.sos]), score=score)
                for labels, score in found]

    forward.__doc__ = espnet_forward.__doc__
    forward.espnet_forward = espnet_forward
    cls.forward = forward
    STATUS[module.__name__] = ("active: BeamSearchTimeSync has nn_dict and, without decoder "
                               "or LM scores, runs the linear prefix-tree CTC search")
    log.debug("espnet_fixes %s: %s", module.__name__, STATUS[module.__name__])


def _fix_trainer_exit(module) -> None:
    cls = getattr(module, "Trainer", None)
    run = None if cls is None else cls.__dict__.get("run")
    if not isinstance(run, classmethod):
        STATUS[module.__name__] = "not applied: ESPnet has no classmethod Trainer.run"
        return
    if getattr(run.__func__, "espnet_run", None) is not None:
        return
    espnet_run = run.__func__

    def run_then_destroy_process_group(cls, *args, **kwargs):
        espnet_run(cls, *args, **kwargs)
        import torch.distributed as dist

        option = kwargs.get("distributed_option")
        if (getattr(option, "distributed", False) and dist.is_available()
                and dist.is_initialized()):
            dist.destroy_process_group()

    run_then_destroy_process_group.__doc__ = espnet_run.__doc__
    run_then_destroy_process_group.espnet_run = espnet_run
    cls.run = classmethod(run_then_destroy_process_group)
    STATUS[module.__name__] = ("active: Trainer.run destroys the process group of a "
                               "distributed run when it returns")
    log.debug("espnet_fixes %s: %s", module.__name__, STATUS[module.__name__])


# ESPnet module (relative to espnet.nets / espnet2.legacy.nets) -> fix.
FIXES: Dict[str, Callable] = {
    "pytorch_backend.nets_utils": _fix_pad_mask,
    "beam_search_timesync": _fix_time_sync,
}
# espnet2 module -> fix.
ESPNET2_FIXES: Dict[str, Callable] = {"espnet2.train.trainer": _fix_trainer_exit}


def enabled() -> bool:
    """False where ``ESPNET_MAMBA_ESPNET_FIXES=0`` turns the fixes off."""
    return os.environ.get("ESPNET_MAMBA_ESPNET_FIXES", "1") != "0"


def hooks() -> Dict[str, Callable]:
    """Full module name -> fix, for both ESPnet layouts (empty when turned off)."""
    if not enabled():
        return {}
    return {**{f"{root}.{path}": fix for path, fix in FIXES.items()
               for root in ("espnet.nets", "espnet2.legacy.nets")}, **ESPNET2_FIXES}


def install() -> None:
    """Apply each fix when its module is imported (at once where it already is)."""
    for name, fix in sorted(hooks().items()):
        after_import(name, fix)
