"""ASR encoders."""
