"""One intra-op thread per test: on the shared 2-core CI machine OpenMP busy-waiting makes 2 threads ~10× slower."""
import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
