"""One intra-op thread per test (tests/fixtures.py: single_thread, autouse here)."""
from tests.fixtures import single_thread  # noqa: F401  (an autouse fixture: importing it applies it to this folder)
