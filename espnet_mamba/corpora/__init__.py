"""Synthetic corpus generators and the speech engines they use."""
