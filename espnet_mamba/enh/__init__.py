"""ESPnet speech enhancement/separation components: separator ``mamba``."""
