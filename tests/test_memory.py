import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu.basis import delay_readout
from nengo_lmu.networks import LMUMemory
from nengo_lmu.systems import LegendreDelay


def run_memory(u, dt=0.001, probe_synapse=None, readouts=(), seed=0, **kwargs):
    """Drive an LMUMemory with the rows of ``u`` (one per step), probe outputs."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.PresentInput(u, dt))
        memory = LMUMemory(size_in=u.shape[1], dt=dt, **kwargs)
        nengo.Connection(stim, memory.input, synapse=None)
        probes = [nengo.Probe(memory.output, synapse=probe_synapse)]
        for kind, arg in readouts:
            node = (memory.add_delay_output(arg) if kind == "delay"
                    else memory.add_window_output(**arg))
            probes.append(nengo.Probe(node, synapse=probe_synapse))
        ens_probes = [nengo.Probe(e, "input", synapse=None) for e in memory.ensembles]
    with nengo.Simulator(net, dt=dt, progress_bar=False) as sim:
        sim.run_steps(len(u))
    return memory, [sim.data[p] for p in probes], [sim.data[p] for p in ens_probes]


@pytest.mark.parametrize("order, size_in", [(1, 1), (4, 1), (6, 3), (12, 2)])
def test_exact_memory_equals_discrete_system(order, size_in, rng):
    theta, dt = 0.05, 0.001
    u = rng.normal(size=(300, size_in))
    memory, (out,), _ = run_memory(u, theta=theta, order=order)
    system = LegendreDelay(theta, order).discretize(dt)
    for d in range(size_in):
        _, x = system.simulate(u[:, d], return_states=True)
        # output[k] = Abar m[k-1] + Bbar u[k], which is dlsim's x[k + 1]
        got = out[:, d * order:(d + 1) * order]
        assert np.allclose(got[:-1], x[1:], atol=1e-10, rtol=0)
    assert memory.ensembles == []


def test_exact_memory_dimensions_are_independent(rng):
    u = rng.normal(size=(200, 3))
    u_only_first = u.copy()
    u_only_first[:, 1:] = 0
    _, (out,), _ = run_memory(u, theta=0.05, order=4)
    _, (out1,), _ = run_memory(u_only_first, theta=0.05, order=4)
    assert np.allclose(out[:, :4], out1[:, :4], atol=1e-12)
    assert np.allclose(out1[:, 4:], 0)


def test_exact_delay_and_window_outputs(rng):
    u = rng.normal(size=(400, 2))
    order = 5
    readouts = [("delay", [0.5, 1.0]), ("window", {"n_points": 3}),
                ("window", {"function": lambda r: np.ones_like(r)})]
    _, (state, delay, window, mean), _ = run_memory(
        u, theta=0.1, order=order, readouts=readouts)
    for d in range(2):
        m = state[:, d * order:(d + 1) * order]
        assert np.allclose(delay[:, 2 * d:2 * d + 2], m @ delay_readout(order, [0.5, 1]).T)
        assert np.allclose(window[:, 3 * d:3 * d + 3],
                           m @ delay_readout(order, [0, 0.5, 1]).T)
        # the mean of the window is the first Legendre coefficient
        assert np.allclose(mean[:, d], m[:, 0], atol=1e-6)


def test_bad_memory_parameters():
    cases = [
        ({"theta": 0}, "theta"),
        ({"theta": np.nan}, "theta"),
        ({"order": 0}, "order"),
        ({"order": 1.5}, "order"),
        ({"size_in": 0}, "size_in"),
        ({"n_neurons": 0}, "n_neurons"),
        ({"n_neurons": 2.5}, "n_neurons"),
        ({"synapse": 0.1}, "synapse"),
        ({"synapse": None}, "synapse"),
        ({"dt": -0.001}, "dt"),
        ({"n_neurons": 10, "ensemble_dimensions": 4}, "ensemble_dimensions"),
        ({"n_neurons": 10, "neuron_type": "LIF"}, "neuron_type"),
        ({"max_rates": nengo.dists.Uniform(100, 200)}, "n_neurons"),
        ({"n_neurons": 10, "input_rms": -1}, "input_rms"),
    ]
    for kwargs, attr in cases:
        args = dict(theta=1.0, order=6)
        args.update(kwargs)
        with nengo.Network():
            with pytest.raises(ValidationError, match=attr):
                LMUMemory(**args)


def test_bad_readouts():
    with nengo.Network():
        memory = LMUMemory(1.0, 4)
        for r in [-0.1, 1.5, np.nan, [0.2, 7]]:
            with pytest.raises(ValidationError, match="r"):
                memory.add_delay_output(r)
        with pytest.raises(ValidationError, match="n_points"):
            memory.add_window_output()
        with pytest.raises(ValidationError, match="n_points"):
            memory.add_window_output(n_points=0)
        with pytest.raises(ValidationError, match="function"):
            memory.add_window_output(function=lambda r: np.nan * r)
