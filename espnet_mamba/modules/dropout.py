"""``Dropout``: ``torch.nn.Dropout`` with the parallel CPU mask of
:mod:`espnet_mamba.ops.dropout_cpu`, and :func:`use_fast_dropout` to put it in place of
every ``torch.nn.Dropout`` of a component, ESPnet's layers inside it included."""
import torch

from espnet_mamba.ops.dropout_cpu import dropout


class Dropout(torch.nn.Dropout):
    """``torch.nn.Dropout`` (same arguments, same behaviour in expectation) whose CPU mask
    is made in parallel and recomputed in the backward instead of stored."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if self.inplace:
            return super().forward(input)
        return dropout(input, self.p, self.training)


def use_fast_dropout(module: torch.nn.Module) -> torch.nn.Module:
    """Replace each submodule of type ``torch.nn.Dropout`` (exactly) by :class:`Dropout`
    with the same rate; returns ``module``."""
    targets = [(name, child) for name, child in module.named_modules()
               if type(child) is torch.nn.Dropout]
    for name, old in targets:
        parent, _, attribute = name.rpartition(".")
        setattr(module.get_submodule(parent), attribute, Dropout(old.p, old.inplace))
    return module
