import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A numpy RandomState seeded from the test's name, so runs repeat."""
    seed = sum(ord(c) for c in request.node.nodeid) % (2**31)
    return np.random.RandomState(seed)
