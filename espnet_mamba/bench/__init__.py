"""Benchmarks: ``python -m espnet_mamba.bench {scan,block} ...`` (see ``--help``)."""
