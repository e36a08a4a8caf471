"""One local Ray cluster per test session (2 CPUs, a small object store), and a time bound."""

import signal

import pytest

RAY_TEST_SECONDS = 240  # a test that waits longer for resources fails instead of hanging


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'byod[ray]')")
    ray.init(
        num_cpus=2,
        object_store_memory=200 * 1024**2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _time_bound(request):
    """Fail a ``ray`` test that runs past :data:`RAY_TEST_SECONDS` (SIGALRM in the main thread)."""
    if request.node.get_closest_marker("ray") is None:
        yield
        return

    def fail(signum, frame):
        raise TimeoutError(f"{request.node.name} ran past {RAY_TEST_SECONDS} s: resources short?")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(RAY_TEST_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
