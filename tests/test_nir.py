"""NIR export, import, the reference simulator, and Norse 1.1.0 as a second consumer.

Norse runs in its own virtual environment (its torch needs typing-extensions
>= 4.10, TensorFlow 2.12 < 4.6): ``.venv-norse`` at the repository root as the
README's install line makes it, or the Python named by ``NENGO_LMU_NORSE_PYTHON``.
"""

import os
import pathlib
import subprocess

import nengo
import nir
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu import LMUMemory
from nengo_lmu.nir import (
    CubaLIF,
    euler_lowpass,
    from_nir,
    memory_options,
    simulate,
    to_nir,
    undelay_input,
)

ROOT = pathlib.Path(__file__).parent.parent
DT = 0.001


def norse_python():
    path = os.environ.get(
        "NENGO_LMU_NORSE_PYTHON", str(ROOT / ".venv-norse/bin/python")
    )
    if not pathlib.Path(path).exists():
        pytest.fail(
            f"no Norse environment at {path}: create it with the README's install "
            "line (.venv-norse), or set NENGO_LMU_NORSE_PYTHON"
        )
    return path


def run_norse(graph, inputs, tmp_path):
    nir.write(tmp_path / "graph.nir", graph)
    np.save(tmp_path / "in.npy", np.asarray(inputs, dtype=np.float32))
    subprocess.run(
        [
            norse_python(),
            str(ROOT / "tests" / "norse_runner.py"),
            str(tmp_path / "graph.nir"),
            str(tmp_path / "in.npy"),
            str(tmp_path / "out.npy"),
            str(DT),
        ],
        check=True,
        capture_output=True,
    )
    return np.load(tmp_path / "out.npy")


def nrmse(y, u, delay_steps):
    e = y[delay_steps:] - u[: len(u) - delay_steps]
    return np.sqrt(np.mean(e**2)) / np.std(u)


def memory_net(n=20, order=2, T=1.0, seed=0, **options):
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(T, high=5, rms=0.3, seed=seed))
        mem = LMUMemory(
            0.2, order, neurons_per_dimension=n, **memory_options(**options)
        )
        nengo.Connection(stim, mem.input, synapse=None)
        out = mem.add_delay_output(1.0)
        net.stim, net.mem, net.out = stim, mem, out
        net.p_stim = nengo.Probe(stim, synapse=None)
        net.p_spikes = [nengo.Probe(e.neurons) for e in mem.ensembles]
        net.p_out = nengo.Probe(out, synapse=None)
    return net


# the reference simulator on closed forms


def one_node_graph(node, n_in=1, weight=None):
    weight = np.ones((node_size(node), n_in)) if weight is None else weight
    nodes = {
        "a_in": nir.Input(input_type=np.array([n_in])),
        "b_w": nir.Linear(weight=weight),
        "c_node": node,
        "z_out": nir.Output(output_type=np.array([node_size(node)])),
    }
    edges = [("a_in", "b_w"), ("b_w", "c_node"), ("c_node", "z_out")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def node_size(node):
    return int(np.size(getattr(node, "tau", getattr(node, "r", 1))))


def test_li_constant_current():
    """Euler's LI: v_k = x (1 - (1 - dt/tau)^k) for a constant input x."""
    tau, x = np.array([0.02, 0.005]), 0.7
    node = nir.LI(tau=tau, r=np.ones(2), v_leak=np.zeros(2))
    y = simulate(one_node_graph(node), np.full((50, 1), x), dt=DT)
    k = np.arange(1, 51)[:, None]
    np.testing.assert_allclose(y, x * (1 - (1 - DT / tau) ** k), rtol=1e-12)


def test_cubalif_constant_current_rate():
    """A CubaLIF fires every floor(n) + 1 steps once its current has settled,
    n = log(1 - 1/J) / log(1 - dt/tau_mem); CubaLIF.rates says the same."""
    J = np.array([1.3, 2.0, 5.0])
    tau_mem, tau_syn = 0.02, 0.002
    o = np.ones(3)
    node = nir.CubaLIF(
        tau_syn=tau_syn * o,
        tau_mem=tau_mem * o,
        r=o,
        v_leak=0 * o,
        v_threshold=o,
        v_reset=0 * o,
    )
    y = simulate(one_node_graph(node, weight=J[:, None]), np.ones((3000, 1)), dt=DT)
    n = np.log(1 - 1 / J) / np.log(1 - DT / tau_mem)
    period = np.floor(n) + 1
    for i in range(3):
        spikes = np.flatnonzero(y[:, i])
        np.testing.assert_array_equal(np.diff(spikes[-5:]), period[i])
    rates = CubaLIF(tau_syn, tau_mem).rates(1.0, J, 0.0)
    np.testing.assert_allclose(rates.ravel(), 1 / (period * DT))


def test_linear_chain():
    """Affine then Linear: W2 (W1 x + b), in the same step."""
    rng = np.random.RandomState(0)
    w1, b, w2 = rng.randn(4, 3), rng.randn(4), rng.randn(2, 4)
    nodes = {
        "a": nir.Input(input_type=np.array([3])),
        "b": nir.Affine(weight=w1, bias=b),
        "c": nir.Linear(weight=w2),
        "d": nir.Output(output_type=np.array([2])),
    }
    graph = nir.NIRGraph(nodes=nodes, edges=[("a", "b"), ("b", "c"), ("c", "d")])
    x = rng.randn(10, 3)
    np.testing.assert_allclose(simulate(graph, x), (x @ w1.T + b) @ w2.T)


def test_recurrent_edge_is_one_step_late():
    """An integrator with a recurrent weight g: v_k = v_{k-1} + dt (x + g v_{k-1})."""
    g = -20.0
    nodes = {
        "a": nir.Input(input_type=np.array([1])),
        "b": nir.Linear(weight=np.ones((1, 1))),
        "c": nir.I(r=np.ones(1)),
        "d": nir.Linear(weight=np.array([[g]])),
        "e": nir.Output(output_type=np.array([1])),
    }
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "c"), ("c", "e")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges)
    y = simulate(graph, np.ones((30, 1)), dt=DT)
    v, expect = 0.0, []
    for _ in range(30):
        v = v + DT * (1.0 + g * v)  # g v uses the previous step's output
        expect.append(v)
    np.testing.assert_allclose(y[:, 0], expect, rtol=1e-12)


# export and import


def test_nengo_equals_reference_spike_for_spike(tmp_path):
    """The CubaLIF memory's Nengo simulation equals the reference simulator
    running its NIR file, spike for spike (input delayed as the metadata says)."""
    net = memory_net()
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(0.5)
    graph = to_nir(net, outputs=[net.out])
    nir.write(tmp_path / "memory.nir", graph)
    graph = nir.read(tmp_path / "memory.nir")
    meta = graph.metadata
    assert meta["theta"] == 0.2 and meta["order"] == 2 and meta["dt"] == DT
    assert meta["realization"] == "balanced" and "nengo_lmu_version" in meta
    k = int(meta["input_delay_steps"])
    u = sim.data[net.p_stim]
    u = np.vstack([np.zeros((k, 1)), u[: len(u) - k]])
    y, rec = simulate(graph, u, record=["c_neurons"])
    nengo_spikes = np.hstack([sim.data[p] > 0 for p in net.p_spikes])
    assert (
        nengo_spikes.sum() > 500
    )  # enough spikes for the comparison to mean something
    np.testing.assert_array_equal(rec["c_neurons"] > 0, nengo_spikes)
    np.testing.assert_allclose(y, sim.data[net.p_out], atol=1e-6)


def test_from_nir_equals_reference(tmp_path):
    """from_nir's Nengo network runs the file as the reference simulator does."""
    graph = to_nir(memory_net(seed=3), dt=DT)
    rng = np.random.RandomState(1)
    u = 0.3 * rng.randn(400, 1)
    y_ref, rec = simulate(graph, u, record=["c_neurons"])
    net = from_nir(graph, dt=DT)
    with net:
        stim = nengo.Node(nengo.processes.PresentInput(u, DT))
        nengo.Connection(stim, net.input, synapse=None)
        p_out = nengo.Probe(net.output, synapse=None)
        p_spk = nengo.Probe(net.populations["c_neurons"], synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(400)
    assert rec["c_neurons"].sum() > 200
    np.testing.assert_array_equal(sim.data[p_spk] > 0, rec["c_neurons"] > 0)
    np.testing.assert_allclose(sim.data[p_out], y_ref, atol=1e-6)


def test_euler_lowpass_pole():
    syn = euler_lowpass(0.1, DT)
    assert np.isclose(np.exp(-DT / syn.tau), 1 - DT / 0.1)


def test_approximate_lif_export():
    """Nengo LIF neurons export only when asked, with the Euler-mapped synapse."""
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.sin)
        a = nengo.Ensemble(10, 1, neuron_type=nengo.LIF(tau_rc=0.03))
        out = nengo.Node(size_in=1)
        nengo.Connection(stim, a, synapse=0.01)
        nengo.Connection(a, out, synapse=0.01)
        nengo.Probe(out)
    with pytest.raises(ValidationError, match="approximate=True"):
        to_nir(net)
    graph = to_nir(net, approximate=True)
    node = graph.nodes["c_neurons"]
    np.testing.assert_allclose(node.tau_mem, 0.03)
    np.testing.assert_allclose(1 - DT / node.tau_syn, np.exp(-DT / 0.01))
    np.testing.assert_allclose(graph.metadata["readout_tau"], [0.01])


# refusals


def readout(ens):
    out = nengo.Node(size_in=ens.dimensions)
    nengo.Connection(ens, out, synapse=None)
    nengo.Probe(out)


def test_refuses_learning_rule():
    with nengo.Network() as net:
        stim = nengo.Node(np.sin)
        a = nengo.Ensemble(5, 1, neuron_type=CubaLIF())
        b = nengo.Ensemble(5, 1, neuron_type=CubaLIF())
        nengo.Connection(stim, a, synapse=None)
        c = nengo.Connection(a, b, synapse=0, learning_rule_type=nengo.PES())
        readout(b)
    with pytest.raises(ValidationError, match="learning rule") as err:
        to_nir(net)
    assert err.value.obj is c


def test_refuses_function_node():
    with nengo.Network() as net:
        stim = nengo.Node(np.sin)
        a = nengo.Ensemble(5, 1, neuron_type=CubaLIF())
        f = nengo.Node(lambda t, x: x**2, size_in=1)
        nengo.Connection(stim, f, synapse=None)
        nengo.Connection(f, a, synapse=None)
        readout(a)
    with pytest.raises(ValidationError, match="computes a function") as err:
        to_nir(net)
    assert err.value.obj is f


def test_refuses_unequal_synapses():
    with nengo.Network() as net:
        stim = nengo.Node(np.sin)
        a = nengo.Ensemble(5, 1, neuron_type=nengo.LIF())
        nengo.Connection(stim, a, synapse=0.01)
        nengo.Connection(stim, a, synapse=0.02)
        readout(a)
    with pytest.raises(ValidationError, match="unequal synapses") as err:
        to_nir(net, approximate=True)
    assert err.value.obj is a


def test_refuses_undelayed_connection_between_ensembles():
    with nengo.Network() as net:
        stim = nengo.Node(np.sin)
        a = nengo.Ensemble(5, 1, neuron_type=CubaLIF())
        b = nengo.Ensemble(5, 1, neuron_type=CubaLIF())
        nengo.Connection(stim, a, synapse=None)
        nengo.Connection(a, b, synapse=None)
        readout(b)
    with pytest.raises(ValidationError, match="synapse=0") as err:
        to_nir(net)
    assert err.value.obj is b


def test_refuses_rate_neurons():
    with nengo.Network() as net:
        stim = nengo.Node(np.sin)
        a = nengo.Ensemble(5, 1, neuron_type=nengo.RectifiedLinear())
        nengo.Connection(stim, a)
        readout(a)
    with pytest.raises(ValidationError, match="not spiking") as err:
        to_nir(net)
    assert err.value.obj is a


# Norse 1.1.0


def test_norse_spike_for_spike(tmp_path):
    """Norse runs an exported memory spike for spike as the reference does."""
    u = 0.3 * np.random.RandomState(2).randn(300, 1)
    graph = to_nir(memory_net(n=10, seed=5), dt=DT)
    nodes = dict(graph.nodes)
    # read out the spikes themselves
    n = nodes["c_neurons"].tau_mem.size
    nodes["e_readout"] = nir.Linear(weight=np.eye(n))
    nodes["f_output"] = nir.Output(output_type=np.array([n]))
    graph = nir.NIRGraph(nodes=nodes, edges=list(graph.edges))
    y_ref = simulate(graph, u)
    y_norse = run_norse(graph, u, tmp_path)
    assert y_ref.sum() > 50
    np.testing.assert_array_equal(y_norse, y_ref)


@pytest.mark.slow
def test_norse_memory_nrmse(tmp_path):
    """The 600-neuron delay memory from the file: reference and Norse within 0.02."""
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(5, high=1, rms=0.3, seed=1))
        mem = LMUMemory(1.0, 6, neurons_per_dimension=100, seed=2, **memory_options())
        nengo.Connection(stim, mem.input, synapse=None)
        out = mem.add_delay_output(1.0)
        p = nengo.Probe(stim, synapse=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(5)
    u = sim.data[p]
    graph = to_nir(net, outputs=[out])
    uf = nengo.Lowpass(0.01).filt(u, dt=DT)
    y_ref = nengo.Lowpass(0.01).filt(simulate(graph, u), dt=DT)
    y_norse = nengo.Lowpass(0.01).filt(run_norse(graph, u, tmp_path), dt=DT)
    e_ref, e_norse = nrmse(y_ref, uf, 1000), nrmse(y_norse, uf, 1000)
    assert e_ref < 0.09
    assert abs(e_ref - e_norse) < 0.02


def test_import_is_light():
    """``import nengo_lmu.nir`` loads neither nir nor torch (only making or
    reading a graph imports nir)."""
    code = (
        "import sys, nengo_lmu, nengo_lmu.nir\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] in "
        "('nir', 'torch', 'norse', 'nirtorch', 'tensorflow')))\n"
    )
    out = subprocess.run(
        [__import__("sys").executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == ""


def test_batched_simulation_equals_single_runs():
    graph = to_nir(memory_net(n=10, seed=4), dt=DT)
    u = 0.3 * np.random.RandomState(3).randn(3, 200, 1)
    batched = simulate(graph, u)
    for b in range(3):
        np.testing.assert_allclose(batched[b], simulate(graph, u[b]), atol=1e-12)


def test_lmu_cell_with_tanh_pairs_exports_approximately(tmp_path):
    """A whole LMU cell (CubaLIF memory, tanh units as to_spiking's LIF pairs):
    refused as inexact, exported with approximate=True, and read back by
    from_nir into a network that runs it as the reference simulator does."""
    from nengo_lmu import LMU
    from nengo_lmu.spiking import to_spiking

    options = memory_options(tau_syn=0.02)
    del options["dt"]
    with nengo.Network(seed=1) as net:
        stim = nengo.Node(np.sin)
        lmu = LMU(
            1,
            1,
            2,
            0.1,
            hidden_units=4,
            hidden_recurrent=False,
            input_to_hidden=True,
            memory_neurons_per_dimension=10,
            memory_kwargs=options,
        )
        nengo.Connection(stim, lmu.input, synapse=None)
        nengo.Probe(lmu.output)
    undelay_input(lmu.memory)  # the memory's input in step with the hidden's
    spiking = to_spiking(net, synapse=0.005)
    hidden = [e for e in spiking.all_ensembles if e.label == "hidden"][0]
    with pytest.raises(ValidationError, match="approximate=True") as err:
        to_nir(spiking)
    assert err.value.obj is hidden
    graph = to_nir(spiking, approximate=True)
    meta = graph.metadata
    sizes = dict(zip(meta["populations"], meta["population_sizes"]))
    assert sizes["hidden"] == 8 and sorted(meta["population_sizes"]) == [8, 10, 10]
    first = int(np.sum(meta["population_sizes"][: list(sizes).index("hidden")]))
    np.testing.assert_allclose(graph.metadata["readout_tau"], [0.005])
    nir.write(tmp_path / "cell.nir", graph)
    graph = nir.read(tmp_path / "cell.nir")
    u = np.sin(np.arange(300) * DT * 6)[:, None]
    y_ref, rec = simulate(graph, u, record=["c_neurons"])
    back = from_nir(graph)
    with back:
        node = nengo.Node(nengo.processes.PresentInput(u, DT))
        nengo.Connection(node, back.input, synapse=None)
        p_spk = nengo.Probe(back.populations["c_neurons"], synapse=None)
        p_out = nengo.Probe(back.output, synapse=None)
    with nengo.Simulator(back, dt=DT, progress_bar=False) as sim:
        sim.run_steps(300)
    assert rec["c_neurons"][:, first : first + 8].sum() > 100  # the tanh pairs fire
    np.testing.assert_array_equal(sim.data[p_spk] > 0, rec["c_neurons"] > 0)
    np.testing.assert_allclose(sim.data[p_out], y_ref, atol=1e-6)


def test_write_netx(tmp_path):
    """The netx file holds Loihi's decays and 16-bit recurrent weights that
    reconstruct the graph's (scaled) weights to within their last bit."""
    import h5py

    from nengo_lmu.nir.lava import write_netx

    graph = to_nir(memory_net(n=10, seed=6), dt=DT)
    p = write_netx(graph, tmp_path / "memory.net", dt=DT)
    with h5py.File(tmp_path / "memory.net", "r") as f:
        dense = f["layer/1"]
        assert dense["type"][()] == b"dense"
        neuron = dense["neuron"]
        assert neuron["type"][()] == b"CUBA"
        assert neuron["iDecay"][()] == round(4096 * DT / 0.1)
        assert neuron["vDecay"][()] == round(4096 * DT / 0.02)
        w, w_exp = dense["weight_rec"][()], dense["weight_rec_exp"][()]
        lo, lo_exp = dense["weight_rec_lo"][()], dense["weight_rec_lo_exp"][()]
    for m in (w, lo, p["w_in"], p["w_bias"]):
        assert m.min() >= -256 and m.max() <= 254 and np.all(m % 2 == 0)
    gain = p["scale"] * (DT / 0.1) * (DT / 0.02) / 64
    rec = gain * graph.nodes["d_recurrent_weights"].weight
    approx = w * 2.0**w_exp + lo * 2.0**lo_exp
    assert np.max(np.abs(approx - rec)) <= 2.0**lo_exp
    assert np.max(np.abs(w * 2.0**w_exp - rec)) > 2.0**lo_exp  # 8 bits miss some
