"""Helpers shared by the test files (not a test module).

* `run_sequences`: a model with an input Node and probes, run on each
  sequence of a batch in ``nengo.Simulator``, each from a fresh state.
* `run_network`: the same for a network with ``input`` and ``output``.

The property tests' counting of their cases is in robustness.py (`tally`).
"""

import nengo
import numpy as np

DT = 0.001


def run_sequences(model, stim, probes, x, dt=DT):
    """Each sequence of ``x`` through ``model`` in the reference simulator.

    ``stim`` is a Node of ``model`` with no input (or a list of them, all
    given the same input); it presents one sequence step by step
    (``x[b, t]`` at step ``t + 1``). The model is built once and reset before
    every sequence, so each starts from the initial state as a fresh build
    would (what `nengo.Simulator.reset` is for).

    Parameters
    ----------
    model : nengo.Network
    stim : nengo.Node or list of nengo.Node
    probes : list of nengo.Probe
    x : array_like
        ``(sequences, steps, dimensions)``.

    Returns
    -------
    dict
        ``{probe: (sequences, steps, probe dimensions)}``.
    """
    x = np.asarray(x, dtype=float)
    stims = list(stim) if isinstance(stim, (list, tuple)) else [stim]
    assert x.ndim == 3 and all(s.size_out == x.shape[-1] for s in stims), x.shape
    current = [x[0]]

    def present(t):
        step = int(round(t / dt)) - 1
        return current[0][min(max(step, 0), len(current[0]) - 1)]

    old_outputs = [s.output for s in stims]
    for s in stims:
        s.output = present
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
        for s, old in zip(stims, old_outputs):
            s.output = old
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
