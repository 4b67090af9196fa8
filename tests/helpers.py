"""Helpers shared by the test files (not a test module).

* `run_sequences`: a model with an input Node and probes, run on each
  sequence of a batch in ``nengo.Simulator``, each from a fresh state.
* `run_network`: the same for a network with ``input`` and ``output``.
* `at_least`: a property test's own count of the cases it tried, checked.
"""

from collections import Counter

import nengo
import numpy as np

DT = 0.001

#: Cases tried by the property tests, by (test, outcome); printed at the end
#: of the session by tests/conftest.py (``pytest_terminal_summary``)
CASES = Counter()


def run_sequences(model, stim, probes, x, dt=DT):
    """Each sequence of ``x`` through ``model`` in the reference simulator.

    ``stim`` is a Node of ``model`` with no input; it presents one sequence
    step by step (``x[b, t]`` at step ``t + 1``). The model is built once and
    reset before every sequence, so each starts from the initial state as a
    fresh build would.

    Parameters
    ----------
    model : nengo.Network
    stim : nengo.Node
    probes : list of nengo.Probe
    x : array_like
        ``(sequences, steps, dimensions)``.

    Returns
    -------
    dict
        ``{probe: (sequences, steps, probe dimensions)}``.
    """
    x = np.asarray(x, dtype=float)
    assert x.ndim == 3 and x.shape[-1] == stim.size_out, (x.shape, stim)
    current = [x[0]]

    def present(t):
        step = int(round(t / dt)) - 1
        return current[0][min(max(step, 0), len(current[0]) - 1)]

    old_output = stim.output
    stim.output = present
    try:
        with nengo.Simulator(model, dt=dt, progress_bar=False) as sim:
            out = {p: [] for p in probes}
            for seq in x:
                current[0] = seq
                sim.reset()
                sim.run_steps(len(seq))
                for p in probes:
                    out[p].append(np.array(sim.data[p]))
    finally:
        stim.output = old_output
    return {p: np.array(v) for p, v in out.items()}


def run_network(net, x, dt=DT):
    """``net.output`` for each sequence of ``x`` fed to ``net.input``.

    ``x`` is ``(sequences, steps, dimensions)``, or one sequence
    ``(steps, dimensions)``; the result has the same layout. ``net`` is
    placed in a new model with an input Node and a probe (no synapses), then
    run as `run_sequences` does.
    """
    x = np.asarray(x, dtype=float)
    single = x.ndim == 2
    with nengo.Network() as model:
        stim = nengo.Node(np.zeros(x.shape[-1]))
        model.add(net)
        nengo.Connection(stim, net.input, synapse=None)
        probe = nengo.Probe(net.output, synapse=None)
    out = run_sequences(model, stim, [probe], x[None] if single else x, dt=dt)[probe]
    return out[0] if single else out


def at_least(test, n_cases, minimum):
    """Record that the property test ``test`` tried ``n_cases`` cases (in
    `CASES`) and fail unless that is at least ``minimum``. Each property
    test counts its own cases, so the check holds whatever ran before."""
    assert n_cases >= minimum, f"{test}: only {n_cases} cases (< {minimum})"
