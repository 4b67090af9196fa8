"""The non-finite latch of `.LinearNetwork`'s neural realisation: a NaN or
infinite input makes the state NaN from then on, as in the exact realisation.
"""

import nengo
import numpy as np


def build_nonfinite_latch(network, n, m):
    """Make a NaN or infinite input propagate in the neural realisation
    as in the exact one (see `.LinearNetwork`'s Notes), in every backend.

    Neurons hide a NaN: a LIF neuron with a NaN voltage never spikes
    again, so the decoded state would silently become 0 (Nengo) or
    finite nonsense (NengoDL), and an infinity crashes Nengo's synapse
    update (``inf - inf``). So, per copy, a Node ``nonfinite`` holds
    ``0 * u[k] + 0 * nonfinite[k-1]``: 0 while every input so far was
    finite, NaN forever from the first one that was not (``0 * nan`` and
    ``0 * inf`` are NaN). It adds ``0 * nonfinite`` to the state, which
    so becomes and stays NaN, and to the input the ensembles get (a NaN
    instead of an infinity). The products are matrix products (no
    floating-point exception in Nengo). Returns that guarded input.
    """
    network.nonfinite = nengo.Node(size_in=network.copies, label="nonfinite")
    guarded = nengo.Node(size_in=network.size_in, label="input_guarded")
    for c in range(network.copies):
        flag = network._copy(network.nonfinite, c, 1)
        # per copy: a matrix product over all copies would spread a NaN
        nengo.Connection(
            network._copy(network.input, c, m),
            network._copy(guarded, c, m),
            transform=np.eye(m),
            synapse=None,
        )
        nengo.Connection(
            network._copy(network.input, c, m),
            flag,
            transform=np.zeros((1, m)),
            synapse=None,
        )
        nengo.Connection(flag, flag, transform=np.zeros((1, 1)), synapse=0)
        nengo.Connection(
            flag,
            network._copy(guarded, c, m),
            transform=np.zeros((m, 1)),
            synapse=None,
        )
        nengo.Connection(
            flag,
            network._copy(network.state, c, n),
            transform=np.zeros((n, 1)),
            synapse=None,
        )
    return guarded
