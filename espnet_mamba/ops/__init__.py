"""Scan kernels: the selective scan and the causal depthwise convolution."""
from espnet_mamba.ops.causal_conv1d import causal_conv1d
from espnet_mamba.ops.selective_scan import scan_torch, selective_scan

__all__ = ["causal_conv1d", "scan_torch", "selective_scan"]
