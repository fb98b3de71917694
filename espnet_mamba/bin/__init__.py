"""Small command-line helpers used by the recipes' stage scripts (``egs2/TEMPLATE/asr1/asr.sh``).

Each module does one job and runs as ``python -m espnet_mamba.bin.<name> --help``.
"""
