"""Text-to-speech models."""
from espnet_mamba.tts.mamba_tts import MambaTTS

__all__ = ["MambaTTS"]
