"""Deployment: ONNX export (:mod:`espnet_mamba.export.onnx`, the graphs in
:mod:`~espnet_mamba.export.graphs`), ONNX Runtime inference without torch
(:mod:`~espnet_mamba.export.runtime`) and packed models (:mod:`~espnet_mamba.export.pack`).

    python -m espnet_mamba.export onnx --task asr --kind streaming \\
        --train_config exp/asr_x/config.yaml --model_file exp/asr_x/valid.loss.ave.pth \\
        --output_dir exp/asr_x/onnx

This package imports nothing itself: the runtime must load without torch.
"""
