"""ASR decoders."""
