"""Registration into ESPnet's ClassChoices: names, idempotency, checks, refusals."""
import subprocess
import sys

import pytest
import torch
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.train.class_choices import ClassChoices

import espnet_mamba
from espnet_mamba import registry
from espnet_mamba.asr.encoder.conmamba_encoder import ConMambaEncoder
from espnet_mamba.asr.encoder.mamba_encoder import MambaEncoder


def test_asr_task_lists_project_encoders():
    import espnet2.tasks.asr as asr

    assert asr.encoder_choices.get_class("mamba") is MambaEncoder
    assert asr.encoder_choices.get_class("conmamba") is ConMambaEncoder
    assert "conformer" in asr.encoder_choices.classes  # built-ins untouched


def test_copies_made_by_other_tasks_have_them():
    import espnet2.tasks.enh_s2t as enh_s2t

    assert enh_s2t.asr_encoder_choices.get_class("conmamba") is ConMambaEncoder


def test_every_entry_names_an_importable_class_with_lower_case_name():
    for entry in registry.entries():
        assert entry.name == entry.name.lower()
        assert isinstance(registry._load(entry.target), type)


def test_register_is_idempotent():
    import espnet2.tasks.asr as asr

    before = dict(asr.encoder_choices.classes)
    espnet_mamba.register()
    espnet_mamba.register()
    assert asr.encoder_choices.classes == before
    hooks = [f for f in sys.meta_path if type(f).__name__ == "_TaskFinder"]
    assert len(hooks) == 1


def test_shadowing_a_builtin_is_refused():
    from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

    choices = ClassChoices("encoder", {"conformer": ConformerEncoder}, type_check=AbsEncoder)
    with pytest.raises(registry.RegistrationError, match="already taken by .*ConformerEncoder"):
        registry.add_class(choices, "conformer", ConMambaEncoder)
    assert choices.classes["conformer"] is ConformerEncoder


def test_wrong_base_type_is_refused():
    choices = ClassChoices("encoder", {}, type_check=AbsEncoder)
    with pytest.raises(registry.RegistrationError, match="not a subclass of .*AbsEncoder"):
        registry.add_class(choices, "linear", torch.nn.Linear)
    assert "linear" not in choices.classes


def test_upper_case_name_is_refused():
    choices = ClassChoices("encoder", {}, type_check=AbsEncoder)
    with pytest.raises(registry.RegistrationError, match="lower case"):
        registry.add_class(choices, "ConMamba", ConMambaEncoder)


def test_plain_interpreter_registers_through_pth_or_import():
    """`python -c "import espnet_mamba, espnet2.tasks.asr"` lists the names (the
    README's check); task modules imported after espnet_mamba are hooked."""
    code = ("import espnet_mamba, espnet2.tasks.asr as a; "
            "print(sorted(a.encoder_choices.classes))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "'conmamba'" in out and "'mamba'" in out
