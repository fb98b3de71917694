"""ESPnet ASR components: encoders ``mamba``/``conmamba``, decoders ``mamba``/``cross_mamba``."""
