"""Text-to-speech models."""
from espnet_mamba.tts.mamba_fastspeech import MambaFastSpeech
from espnet_mamba.tts.mamba_tts import MambaTTS

__all__ = ["MambaFastSpeech", "MambaTTS"]
