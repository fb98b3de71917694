"""Registration into ESPnet's ClassChoices: names, idempotency, checks, refusals."""
import os
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
    hooks = [f for f in sys.meta_path if type(f).__name__ == "_HookFinder"]
    assert len(hooks) == 1


def test_a_taken_name_stays_espnets_and_ours_gets_the_alias():
    from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

    choices = ClassChoices("encoder", {"conformer": ConformerEncoder}, type_check=AbsEncoder)
    with pytest.warns(RuntimeWarning, match=r"'conformer' is already taken by "
                      r".*ConformerEncoder.*ConMambaEncoder is registered as --encoder "
                      r"'espnet_mamba.conformer'"):
        assert registry.add_class(choices, "conformer", ConMambaEncoder) == (
            "espnet_mamba.conformer")
    assert choices.get_class("conformer") is ConformerEncoder
    assert choices.get_class("espnet_mamba.conformer") is ConMambaEncoder


def test_every_class_also_answers_to_its_alias():
    import espnet2.tasks.asr as asr
    import espnet2.tasks.enh as enh
    import espnet2.tasks.tts as tts

    assert asr.encoder_choices.get_class("espnet_mamba.conmamba") is ConMambaEncoder
    assert "espnet_mamba.cross_mamba" in asr.decoder_choices.classes
    assert "espnet_mamba.mamba" in enh.separator_choices.classes
    assert "espnet_mamba.mamba_tts" in tts.tts_choices.classes
    assert "espnet_mamba.mamba_fastspeech" in tts.tts_choices.classes


FAKE_BUILTIN = """
import warnings
import espnet2.tasks.asr as asr
from espnet2.asr.encoder.abs_encoder import AbsEncoder

class MambaEncoder(AbsEncoder):  # what a future ESPnet (or a fork) may ship as 'mamba'
    def output_size(self):
        return 1
    def forward(self, *args):
        raise NotImplementedError

asr.encoder_choices.classes["mamba"] = MambaEncoder
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import espnet_mamba  # registers into the already-imported task module
    import espnet2.tasks.enh_s2t  # and into a task imported later (the import hook)
ours = [w.message for w in caught if "already taken" in str(w.message)]
print("=", len(ours), *ours)
print("=", asr.encoder_choices.get_class("mamba") is MambaEncoder)
print("=", asr.encoder_choices.get_class("espnet_mamba.mamba").__module__)
args = asr.ASRTask.get_parser().parse_args(["--encoder", "espnet_mamba.mamba"])
print("=", args.encoder)
"""


def test_an_espnet_that_ships_its_own_mamba_keeps_importing():
    env = dict(os.environ, ESPNET_MAMBA_NO_AUTOLOAD="1")  # as if ESPnet came first
    out = subprocess.run([sys.executable, "-c", FAKE_BUILTIN], capture_output=True,
                         text=True, env=env, cwd=os.path.dirname(os.path.dirname(
                             espnet_mamba.__file__)))
    assert out.returncode == 0, out.stderr
    lines = [line[2:] for line in out.stdout.splitlines() if line.startswith("= ")]
    # one warning per option: asr's --encoder, and enh_s2t's copy of it, --asr_encoder
    assert lines[0].startswith("2 --encoder 'mamba' is already taken by __main__.MambaEncoder")
    assert "espnet_mamba.asr.encoder.mamba_encoder.MambaEncoder is registered as " \
           "--encoder 'espnet_mamba.mamba'" in lines[0]
    assert "--asr_encoder 'espnet_mamba.mamba'" in lines[0]
    assert lines[1:] == ["True", "espnet_mamba.asr.encoder.mamba_encoder",
                         "espnet_mamba.mamba"]


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
