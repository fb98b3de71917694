"""Packed models: ESPnet's ``espnet2.bin.pack`` for this project's asr/enh/tts models,
and a model card in the layout of ESPnet's Hugging Face model repos.

``espnet2.bin.pack`` archives the training config, the weights and every file named
with ``--option``, with paths as given relative to the working directory; unpacking
rewrites the config's paths that name archived files.  :func:`pack_model` runs it in
the recipe dir, adds each file the config names (``global_mvn`` statistics, BPE model,
...) and the experiment's ``RESULTS.md``, and, with ``hf_dir``, unpacks the archive
there beside a ``README.md`` model card (front matter, versions, how to load, the
results table, a config summary, the config), as ESPnet's upload stage lays out a repo.

Loading needs only ESPnet and espnet-mamba installed (the installed ``.pth`` registers
the components in every process)::

    from espnet2.bin.asr_inference import Speech2Text
    from espnet2.main_funcs.pack_funcs import unpack
    speech2text = Speech2Text(**unpack("asr_model.zip", "unpacked"))
"""
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

import yaml

# task -> (espnet2.bin.pack subcommand, its config option, its model option, inference
# class, Hugging Face pipeline tag)
TASKS = {
    "asr": ("asr", "asr_train_config", "asr_model_file", "espnet2.bin.asr_inference",
            "Speech2Text", "automatic-speech-recognition"),
    "enh": ("enh", "train_config", "model_file", "espnet2.bin.enh_inference",
            "SeparateSpeech", "audio-to-audio"),
    "tts": ("tts", "train_config", "model_file", "espnet2.bin.tts_inference",
            "Text2Speech", "text-to-speech"),
}
# the config entries that show what a model is, in the card's summary
SUMMARY_KEYS = ("frontend", "normalize", "specaug", "preencoder", "encoder", "postencoder",
                "decoder", "encoder_conf", "decoder_conf", "model_conf", "separator",
                "separator_conf", "tts", "tts_conf", "feats_extract", "token_type")


class PackError(ValueError):
    """Missing inputs or a failed ``espnet2.bin.pack``."""


def named_files(config: Dict, root: Path) -> List[str]:
    """The files under ``root`` a model needs besides its config and weights: those
    named in its ``*_conf`` sections (``global_mvn`` statistics, ...) and by
    ``bpemodel`` / ``token_list`` (not the data lists training read)."""
    def walk(value) -> Iterator[str]:
        if isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from walk(v)
        elif isinstance(value, str) and (root / value).is_file():
            yield value

    wanted = [v for k, v in config.items() if k.endswith("_conf")]
    wanted += [config[k] for k in ("bpemodel", "token_list") if isinstance(config.get(k), str)]
    return [f for v in wanted for f in walk(v)]


def _relative(path: Union[str, Path], root: Path) -> str:
    path = Path(path)
    full = path if path.is_absolute() else root / path
    if not full.is_file():
        raise PackError(f"no such file: {full}")
    try:
        return str(full.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(full.resolve())


def pack_model(task: str, train_config: Union[str, Path], model_file: Union[str, Path],
               outpath: Union[str, Path], root: Union[str, Path] = ".",
               results: Optional[Union[str, Path]] = None,
               hf_dir: Optional[Union[str, Path]] = None, language: str = "en",
               license: str = "cc-by-4.0", options: List[Union[str, Path]] = ()) -> Path:
    """Pack a trained model with ``espnet2.bin.pack`` (and write its model card).

    Args:
        task: ``asr``, ``enh`` or ``tts``.
        train_config: Training ``config.yaml`` (relative to ``root`` or absolute).
        model_file: Model weights, e.g. ``valid.acc.ave.pth``.
        outpath: The zip to write.
        root: The dir the training ran in (the recipe dir): the config's relative paths
            are relative to it.
        results: ``RESULTS.md`` to pack and put in the card; default: the one beside the
            model file, if any.
        hf_dir: Where to lay out the Hugging Face repo (archive contents + README.md).
        language: Language tag of the card.
        license: Licence tag of the card.
        options: Further files to pack.

    Returns:
        The path of the zip.

    Raises:
        PackError: an unknown task, a missing file, or ``espnet2.bin.pack`` failing.
    """
    if task not in TASKS:
        raise PackError(f"task must be one of {sorted(TASKS)}; got {task!r}")
    root = Path(root)
    sub, config_key, model_key = TASKS[task][:3]
    config_rel, model_rel = _relative(train_config, root), _relative(model_file, root)
    config = yaml.safe_load((root / config_rel).read_text(encoding="utf-8"))
    if results is None and (root / model_rel).with_name("RESULTS.md").is_file():
        results = (root / model_rel).with_name("RESULTS.md")
    if results is not None:
        results = root / _relative(results, root)  # relative to root, as the other paths
    extra = list(dict.fromkeys(
        [_relative(f, root) for f in named_files(config, root)]
        + ([_relative(results, root)] if results is not None else [])
        + [_relative(f, root) for f in options]))
    extra = [f for f in extra if f not in (config_rel, model_rel)]
    outpath = Path(outpath).resolve()
    tmp = outpath.with_name(outpath.name + ".tmp.zip")
    cmd = [sys.executable, "-m", "espnet2.bin.pack", sub, "--outpath", str(tmp),
           f"--{config_key}", config_rel, f"--{model_key}", model_rel]
    for f in extra:
        cmd += ["--option", f]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise PackError(f"espnet2.bin.pack failed (exit {done.returncode}):\n"
                        f"{done.stderr[-3000:]}")
    tmp.replace(outpath)  # the zip is complete or absent
    if hf_dir is not None:
        write_hf_repo(task, outpath, Path(hf_dir), config, results, language, license)
    return outpath


def write_hf_repo(task: str, packed: Path, hf_dir: Path, config: Dict,
                  results: Optional[Union[str, Path]], language: str, license: str) -> Path:
    """Unpack ``packed`` into ``hf_dir`` and write ``hf_dir/README.md``."""
    import zipfile

    hf_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(packed) as archive:
        archive.extractall(hf_dir)
    card = model_card(task, packed.name, config,
                      None if results is None else Path(results).read_text(encoding="utf-8"),
                      language, license)
    path = hf_dir / "README.md"
    path.write_text(card, encoding="utf-8")
    return path


def model_card(task: str, packed_name: str, config: Dict, results: Optional[str],
               language: str, license: str) -> str:
    """A model card in the layout of ESPnet's Hugging Face model repos."""
    import espnet
    import torch

    from espnet_mamba import __version__

    _, _, _, module, cls, pipeline = TASKS[task]
    summary = {k: config[k] for k in SUMMARY_KEYS if config.get(k) is not None}
    lines = [
        "---",
        yaml.safe_dump(dict(tags=["espnet", "espnet-mamba", "audio", pipeline],
                            language=language, license=license), sort_keys=False).strip(),
        "---",
        "",
        f"## ESPnet2 {task.upper()} model (espnet-mamba)",
        "",
        f"Trained with ESPnet {espnet.__version__}, espnet-mamba {__version__}, "
        f"PyTorch {torch.__version__}; packed with `espnet2.bin.pack` ({packed_name}).",
        "",
        "### How to use",
        "",
        "```bash",
        f"pip install espnet-mamba=={__version__}  # registers the Mamba components",
        "```",
        "",
        "```python",
        f"from {module} import {cls}",
        "from espnet2.main_funcs.pack_funcs import unpack",
        "",
        f"model = {cls}(**unpack({packed_name!r}, 'unpacked'))",
        "```",
        "",
        "### Results",
        "",
        (results.strip() if results else "(no RESULTS.md was packed)"),
        "",
        "### Config summary",
        "",
        "```yaml",
        yaml.safe_dump(summary, sort_keys=False).strip(),
        "```",
        "",
        "<details><summary>the training config</summary>",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False).strip(),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)
