import os

import pytest
import torch

# Under pytest-xdist each worker (and what it starts) uses one thread: two workers on two
# cores, each with torch's, numba's and OpenMP's default of one thread per core,
# oversubscribe, and GNU OpenMP's spinning threads then make a 4-s training take 2 min.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
