"""The fixes to ESPnet reproduce the installed ESPnet exactly, whatever its version, and
are left out where their target is missing, already linear, or behaves otherwise."""
import types

import pytest
import torch

from espnet_mamba import espnet_fixes
from espnet_mamba.compat import legacy_nets

nets_utils = legacy_nets("pytorch_backend.nets_utils")
ESPNET = espnet_fixes._ESPNET_PAD_MASK[nets_utils.__name__]


@pytest.mark.parametrize("shape,length_dim", [(None, -1), ((4, 9), -1), ((4, 9, 3), 1),
                                              ((4, 3, 9), -1), ((4, 3, 9), 2)])
@pytest.mark.parametrize("lengths", [[9, 0, 4, 0], [0, 0, 0, 0], [9, 9, 1, 2]])
def test_installed_fix_equals_the_installed_espnet_zero_lengths_included(shape, length_dim,
                                                                          lengths):
    lengths = torch.tensor(lengths)
    xs = None if shape is None else torch.zeros(shape)
    expected = ESPNET(lengths, xs, length_dim, None if xs is not None else 11)
    got = nets_utils.make_pad_mask(lengths, xs, length_dim,
                                   None if xs is not None else 11)
    assert nets_utils._make_pad_mask_traceable is espnet_fixes.linear_pad_mask
    assert torch.equal(got, expected)


def test_status_names_the_active_fixes():
    assert espnet_fixes.STATUS[nets_utils.__name__].startswith("active: linear make_pad_mask")


def fake_module(fn):
    module = types.ModuleType("fake_nets_utils")
    module._make_pad_mask_traceable = fn
    return module


def quadratic_202511(lengths, xs=None, length_dim=-1, maxlen=None):
    """202511's row lookup (a zero length selects the last row: no padding)."""
    n = xs.shape[length_dim] if xs is not None else (maxlen or int(lengths.max()))
    rows = torch.ones(n + 1, n + 1, dtype=torch.bool).triu()[1:, :-1]
    mask = rows[lengths.clamp(max=n) - 1]
    if xs is None or xs.dim() == 2:
        return mask
    if length_dim == 1:
        return mask[:, :, None].expand(-1, -1, xs.shape[2])
    return mask[:, None, :].expand(-1, xs.shape[1], -1)


def test_probe_takes_the_semantics_of_the_function_it_replaces(monkeypatch):
    monkeypatch.setattr(espnet_fixes, "_ZERO_LENGTH_PADDED", None)
    monkeypatch.setattr(espnet_fixes, "STATUS", {})
    monkeypatch.setattr(espnet_fixes, "_ESPNET_PAD_MASK", {})
    module = fake_module(quadratic_202511)
    espnet_fixes._fix_pad_mask(module)
    assert module._make_pad_mask_traceable is espnet_fixes.linear_pad_mask
    assert espnet_fixes._ZERO_LENGTH_PADDED is False
    assert "a zero length masks nothing" in espnet_fixes.STATUS["fake_nets_utils"]
    lengths = torch.tensor([3, 0])
    assert espnet_fixes.linear_pad_mask(lengths).tolist() == [[False] * 3, [False] * 3]


def test_a_linear_espnet_function_is_left_alone(monkeypatch):
    monkeypatch.setattr(espnet_fixes, "STATUS", {})

    def linear(lengths, xs=None, length_dim=-1, maxlen=None):
        return espnet_fixes.linear_pad_mask(lengths, xs, length_dim, maxlen)

    module = fake_module(linear)
    espnet_fixes._fix_pad_mask(module)
    assert module._make_pad_mask_traceable is linear
    assert "already linear" in espnet_fixes.STATUS["fake_nets_utils"]


def test_a_function_with_other_masks_is_left_alone(monkeypatch):
    monkeypatch.setattr(espnet_fixes, "STATUS", {})

    def inverted(lengths, xs=None, length_dim=-1, maxlen=None):
        quadratic_202511(lengths.clamp(min=1), None, -1, maxlen)  # quadratic on the way
        return ~espnet_fixes.linear_pad_mask(lengths, xs, length_dim, maxlen)

    module = fake_module(inverted)
    espnet_fixes._fix_pad_mask(module)
    assert module._make_pad_mask_traceable is inverted
    assert "does not reproduce" in espnet_fixes.STATUS["fake_nets_utils"]


def test_a_missing_target_is_reported():
    module = types.ModuleType("empty_nets_utils")
    espnet_fixes._fix_pad_mask(module)
    assert "no _make_pad_mask_traceable" in espnet_fixes.STATUS.pop("empty_nets_utils")


def test_the_installed_trainer_destroys_the_process_group_it_was_given():
    from espnet2.train.trainer import Trainer

    assert Trainer.run.__func__.espnet_run is not None
    assert espnet_fixes.STATUS["espnet2.train.trainer"].startswith("active: Trainer.run")


def fake_trainer_module(run):
    module = types.ModuleType("fake_trainer")
    module.Trainer = type("Trainer", (), {"run": classmethod(run)})
    return module


@pytest.mark.parametrize("distributed,fails,left_initialized", [
    (True, False, False),  # a finished distributed run: destroyed
    (False, False, True),  # a group ESPnet did not make distributed: not ours to destroy
    (True, True, True),  # a failed run: left alone (another rank may wait in a collective)
])
def test_a_run_destroys_the_process_group_only_when_it_finished_distributed(
        tmp_path, distributed, fails, left_initialized):
    import torch.distributed as dist

    calls = []

    def run(cls, model, *, distributed_option):
        calls.append(model)
        if fails:
            raise RuntimeError("training failed")

    module = fake_trainer_module(run)
    espnet_fixes._fix_trainer_exit(module)
    assert espnet_fixes.STATUS.pop("fake_trainer").startswith("active")
    espnet_fixes._fix_trainer_exit(module)  # a second import: not wrapped twice
    assert module.Trainer.run.__func__.espnet_run is run
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    try:
        option = types.SimpleNamespace(distributed=distributed)
        if fails:
            with pytest.raises(RuntimeError, match="training failed"):
                module.Trainer.run("model", distributed_option=option)
        else:
            module.Trainer.run("model", distributed_option=option)
        assert calls == ["model"]
        assert dist.is_initialized() == left_initialized
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_a_trainer_without_a_classmethod_run_is_reported():
    module = types.ModuleType("odd_trainer")
    module.Trainer = type("Trainer", (), {"run": lambda self: None})
    espnet_fixes._fix_trainer_exit(module)
    assert "no classmethod Trainer.run" in espnet_fixes.STATUS.pop("odd_trainer")
