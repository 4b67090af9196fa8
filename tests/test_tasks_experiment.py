"""The experiment kit (nengo_lmu.tasks.experiment): build, fit, predict, run,
copy trained weights; each against an independent reference."""

import copy
import warnings

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu import LMU
from nengo_lmu.tasks import experiment
from nengo_lmu.tasks.experiment import (
    ENSEMBLE_PARAMS,
    batch_size_for,
    chip_lmu,
    classification_accuracy,
    copy_trained,
    fit,
    glorot_uniform,
    predict,
    run_sequences,
    sequence_network,
)

DT = 0.001


def passthrough(size):
    """A model whose output is its input: the readout is then the whole map."""
    with nengo.Network(add_to_container=False) as model:
        model.input = nengo.Node(size_in=size)
        model.output = model.input
    return model


def reference_runs(net, x, simulator=nengo.Simulator, **kwargs):
    """Each sequence in a fresh simulator of its own (written out by hand)."""
    out = []
    for seq in x:
        c = copy.deepcopy(net)
        c.stim.output = nengo.processes.PresentInput(seq, presentation_time=DT)
        with simulator(c, dt=DT, progress_bar=False, **kwargs) as sim:
            sim.run_steps(len(seq))
        out.append(sim.data[c.probe])
    return np.array(out)


# --- building -----------------------------------------------------------------


def test_batch_rule_on_partial_batches():
    # the largest divisor of n not above the batch size, worked out by hand
    assert batch_size_for(1000, 100) == 100
    assert batch_size_for(28, 16) == 14  # 28 = 2 * 14
    assert batch_size_for(100, 16) == 10
    assert batch_size_for(7, 3) == 1  # prime: one sequence per batch
    assert batch_size_for(5, 100) == 5  # fewer sequences than a batch
    assert batch_size_for(98, 4) == 2  # the unroll rule: 98 steps, up to 4
    for n in range(1, 40):
        for b in range(1, 12):
            d = batch_size_for(n, b)
            assert n % d == 0 and d <= b
            assert not any(n % k == 0 for k in range(d + 1, b + 1))
    with pytest.raises(ValidationError, match="batch_size"):
        batch_size_for(10, 0)


def test_glorot_readout_and_bias():
    net = sequence_network(passthrough(2), size_out=3, seed=4)
    limit = np.sqrt(6 / 5)
    expected = np.random.RandomState(4).uniform(-limit, limit, size=(3, 2))
    assert np.array_equal(glorot_uniform(3, 2, seed=4), expected)
    readout = [c for c in net.all_connections if c.post_obj is net.output]
    weights = [c.transform.init for c in readout]
    assert np.array_equal(weights[0], expected)
    assert np.array_equal(weights[1], np.zeros((3, 1)))  # the bias, from zero
    assert readout[1].pre_obj.output.tolist() == [1.0]
    x = np.random.RandomState(0).uniform(-1, 1, size=(2, 5, 2))
    out = reference_runs(net, x)
    assert np.allclose(out, x @ expected.T, atol=1e-12)


def test_sequence_network_attributes_and_errors():
    lmu = LMU(1, 1, 4, 0.01, hidden_units=5, add_to_container=False)
    net = sequence_network(lmu, size_out=2, readout="zeros", bias=False)
    assert net.lmu is lmu and net.model is lmu
    assert net.input_conn.pre_obj is net.stim and net.input_conn.post_obj is lmu.input
    assert net.probe.target is net.output and net.output.size_in == 2
    bare = sequence_network(passthrough(1), readout=None, seed=None)
    assert bare.probe.target is bare.model.output and not hasattr(bare, "lmu")
    with pytest.raises(ValidationError, match="model"):
        sequence_network(nengo.Network(add_to_container=False), size_out=1)
    with pytest.raises(ValidationError, match="readout"):
        sequence_network(passthrough(1), size_out=1, readout="ones")
    with pytest.raises(ValidationError, match="size_out"):
        sequence_network(passthrough(1))


def test_chip_lmu_options():
    exact = chip_lmu(0.05, 4, 8)
    assert exact.hidden_units == 8 and not exact.memory.all_ensembles
    assert isinstance(exact.hidden_neuron_type, nengo.RectifiedLinear)
    neural = chip_lmu(0.05, 4, 8, memory_neurons_per_dimension=10)
    assert sum(e.n_neurons for e in neural.memory.all_ensembles) == 40
    with pytest.raises(ValidationError, match="target"):
        chip_lmu(0.05, 4, 8, target="chip")
    with pytest.raises(ValidationError, match="memory_neurons_per_dimension"):
        chip_lmu(0.05, 4, 8, input_rms=0.5)  # a neural setting, exact memory


def test_classification_accuracy():
    logits = [[0.1, 2.0, 0.0], [3.0, 0.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]]
    assert (
        classification_accuracy(logits, np.array([[[1]], [[1]], [[2]], [[0]]])) == 0.75
    )
    with pytest.raises(ValidationError, match="labels"):
        classification_accuracy(logits, [1, 2])


# --- NengoDL ------------------------------------------------------------------


def test_fit_reaches_the_least_squares_solution():
    """A linear readout of the last step, trained with the MSE, ends at the
    least-squares weights (the data are noiseless, so the error is zero)."""
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, size=(40, 3, 2)).astype(np.float32)
    w_true, b_true = np.array([[0.7, -1.2]]), np.array([0.3])
    y = (x[:, -1] @ w_true.T + b_true)[:, None, :]  # (40, 1, 1): the last step
    net = sequence_network(passthrough(2), size_out=1, readout="zeros", seed=0)
    history = fit(
        net, (x, y), loss="mse", epochs=150, learning_rate=0.05, batch_size=16
    )
    assert len(history["loss"]) == 150 and history["loss"][-1] < 1e-4
    # the reference: numpy's least squares on [x_last, 1]
    design = np.column_stack([x[:, -1], np.ones(len(x))])
    solution = np.linalg.lstsq(design, y[:, 0], rcond=None)[0].ravel()
    readout, bias = [c for c in net.all_connections if c.post_obj is net.output]
    trained = np.concatenate(
        [np.ravel(readout.transform.init), np.ravel(bias.transform.init)]
    )
    assert np.allclose(trained, solution, atol=5e-3)  # written back into net


def test_fit_crossentropy_with_test_set_and_predict():
    """Two classes told apart by the sign of the last input: the trained
    readout classifies them all, and the history holds the test accuracy."""
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, size=(30, 4, 1)).astype(np.float32)
    y = (x[:, -1, 0] > 0).astype(np.int32)[:, None, None]
    net = sequence_network(passthrough(1), size_out=2, seed=0)
    history = fit(
        net,
        (x, y),
        epochs=60,
        learning_rate=0.1,
        batch_size=10,
        metrics=["accuracy"],
        test=(x[:20], y[:20]),
    )
    assert {"loss", "accuracy", "test_accuracy", "test_loss"} <= set(history)
    assert history["test_accuracy"] == 1.0
    # predict: 7 sequences with batches of up to 3 (the rule gives 1): all
    # come back, and they are the frozen readout of the last step
    logits = predict(net, x[:7], batch_size=3)
    readout, bias = [c for c in net.all_connections if c.post_obj is net.output]
    expected = x[:7, -1] @ np.asarray(readout.transform.init).T + np.ravel(
        bias.transform.init
    )
    assert logits.shape == (7, 2) and np.allclose(logits, expected, atol=1e-5)
    assert classification_accuracy(logits, y[:7]) == 1.0


def test_fit_keeps_fixed_weights_and_the_memory():
    lmu = LMU(1, 1, 4, 0.01, hidden_units=5, seed=0, add_to_container=False)
    net = sequence_network(lmu, size_out=1, seed=0)
    kernel = lmu.weight_connections["kernel"][0]
    hidden = lmu.weight_connections["hidden_kernel"][0]
    memory = lmu.memory.all_connections
    before = [np.array(c.transform.init) for c in [kernel, hidden] + memory]
    x = np.random.RandomState(3).uniform(-1, 1, size=(8, 10, 1)).astype(np.float32)
    fit(net, (x, x), loss="mse", epochs=2, learning_rate=0.1, fixed=["kernel"])
    # NengoDL writes the weights back in float32 (and 1 x 1 as scalars)
    after = [np.ravel(c.transform.init) for c in [kernel, hidden] + memory]
    assert np.allclose(after[0], np.ravel(before[0]), rtol=1e-6, atol=0)  # fixed
    assert not np.allclose(after[1], np.ravel(before[1]), atol=1e-3)  # trained
    for a, b in zip(after[2:], before[2:]):
        assert np.allclose(a, np.ravel(b), rtol=1e-6, atol=1e-7)  # never trained


def test_predict_whole_sequences():
    w = np.array([[1.0, -2.0], [0.5, 3.0], [0.0, 1.0]])
    net = sequence_network(passthrough(2), size_out=3, readout=w, bias=False)
    x = np.random.RandomState(2).uniform(-1, 1, size=(5, 6, 2)).astype(np.float32)
    out = predict(net, x, last=False, batch_size=2)
    assert out.shape == (5, 6, 3) and np.allclose(out, x @ w.T, atol=1e-5)


# --- backends ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spiking_lmu_net():
    """State that a run must start from zero: a memory, spiking neurons and
    synapses."""
    lmu = LMU(1, 1, 4, 0.02, hidden_units=6, seed=3, add_to_container=False)
    net = sequence_network(lmu, size_out=2, seed=3)
    with net:
        ens = nengo.Ensemble(20, 1, neuron_type=nengo.SpikingRectifiedLinear())
        nengo.Connection(net.stim, ens, synapse=None)
        nengo.Connection(ens, net.output, transform=[[1], [-1]], synapse=0.005)
        net.spikes = nengo.Probe(ens.neurons, synapse=None)
    x = np.random.RandomState(3).uniform(0, 1, size=(3, 30, 1))
    return net, x


def test_run_sequences_nengo_equals_one_simulator_per_sequence(spiking_lmu_net):
    net, x = spiking_lmu_net
    expected = reference_runs(net, x)
    assert np.ptp(expected[:, -1]) > 0  # the sequences give different outputs
    out = run_sequences(net, x, backend="nengo")
    assert out.shape == (3, 30, 2) and np.allclose(out, expected, atol=1e-12)
    last = run_sequences(net, x, backend="nengo", last=True)
    assert np.allclose(last, expected[:, -1], atol=1e-12)


def test_run_sequences_dl_equals_nengo():
    lmu = LMU(1, 1, 4, 0.02, hidden_units=6, seed=3, add_to_container=False)
    net = sequence_network(lmu, size_out=2, seed=3)
    x = np.random.RandomState(4).uniform(0, 1, size=(4, 25, 1))
    expected = reference_runs(net, x)
    out = run_sequences(net, x, backend="dl", batch_size=3)  # batches of 2
    assert out.shape == expected.shape and np.allclose(out, expected, atol=1e-5)


def test_run_sequences_loihi_equals_one_emulator_per_sequence():
    nengo_loihi = pytest.importorskip("nengo_loihi")
    with nengo.Network(add_to_container=False) as model:
        model.input = nengo.Node(size_in=1)
        ens = nengo.Ensemble(20, 1, neuron_type=nengo.SpikingRectifiedLinear(), seed=1)
        model.output = nengo.Node(size_in=1)
        nengo.Connection(model.input, ens, synapse=None)
        nengo.Connection(ens, model.output, synapse=0.01)
    net = sequence_network(model, readout=None, seed=0)
    x = np.random.RandomState(5).uniform(-1, 1, size=(3, 40, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference_runs(net, x, nengo_loihi.Simulator, target="sim")
    assert np.ptp(expected[:, -1]) > 0
    # two copies per emulator run: a group of 2 and a group of 1
    out = run_sequences(net, x, backend="loihi", batch_size=2)
    assert np.allclose(out, expected, atol=1e-12)


def test_run_sequences_probes_and_errors(spiking_lmu_net):
    net, x = spiking_lmu_net
    out, spikes = run_sequences(net, x[:1], probes=[net.probe, net.spikes])
    assert out.shape == (1, 30, 2) and spikes.shape == (1, 30, 20)
    assert np.allclose(out, reference_runs(net, x[:1]), atol=1e-12)
    with pytest.raises(ValidationError, match="backend"):
        run_sequences(net, x, backend="gpu")
    with pytest.raises(ValidationError, match="net"):
        run_sequences(passthrough(1), x)
    with pytest.raises(ValidationError, match="x"):
        run_sequences(net, x[0])


# --- copy_trained ---------------------------------------------------------------


def chip_network(target, hidden_units=8):
    lmu = chip_lmu(
        0.05,
        4,
        hidden_units,
        memory_neurons_per_dimension=10,
        target=target,
        tau=0.02,
        delay_steps=2,
    )
    return sequence_network(lmu, size_out=3, seed=0)


def by_endpoints(net):
    """Connections outside the memory, keyed by their (pre, post) objects."""
    memory = set(net.lmu.memory.all_connections)
    conns = {
        (str(c.pre_obj), str(c.post_obj)): c
        for c in net.all_connections
        if c not in memory
    }
    assert len(conns) == len(net.all_connections) - len(memory)  # keys unique
    return conns


def test_copy_trained_copies_every_weight():
    src, dst, fresh = (chip_network(t) for t in ("nengo", "loihi", "loihi"))
    rng = np.random.RandomState(6)
    # "train" src: every weight outside the memory gets a new random value
    for conn in by_endpoints(src).values():
        shape = (conn.size_out, conn.size_mid)
        conn.transform = rng.uniform(-1, 1, size=shape)
    hidden = src.lmu.hidden
    hidden.encoders = rng.uniform(-1, 1, size=(8, 1))
    hidden.normalize_encoders = False
    hidden.gain = rng.uniform(0.5, 2, size=8)
    hidden.bias = rng.uniform(-1, 1, size=8)

    assert copy_trained(src, dst) is dst
    src_conns, dst_conns = by_endpoints(src), by_endpoints(dst)
    assert set(src_conns) == set(dst_conns)
    for key, conn in src_conns.items():
        assert np.array_equal(dst_conns[key].transform.init, conn.transform.init), key
    for name in ENSEMBLE_PARAMS:
        a, b = getattr(hidden, name), getattr(dst.lmu.hidden, name)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b), name
        else:
            assert a is b or a == b, name
    # the memory stays as the loihi twin built it, connection by connection
    mem = dst.lmu.memory
    for a, b in zip(mem.all_connections, fresh.lmu.memory.all_connections):
        assert np.array_equal(a.transform.init, b.transform.init)
        assert repr(a.synapse) == repr(b.synapse)
    for a, b in zip(mem.all_ensembles, fresh.lmu.memory.all_ensembles):
        assert a.max_rates == b.max_rates and a.n_neurons == b.n_neurons
    # the two memories really differ (mapped for other loops)
    differ = [
        not np.array_equal(np.asarray(a.transform.init), np.asarray(b.transform.init))
        or repr(a.synapse) != repr(b.synapse)
        for a, b in zip(src.lmu.memory.all_connections, mem.all_connections)
    ]
    assert any(differ)


def test_copy_trained_decoded_connection_and_mismatch():
    def build():
        with nengo.Network(add_to_container=False) as model:
            model.input = nengo.Node(size_in=1)
            ens = nengo.Ensemble(10, 1, seed=0)
            model.output = nengo.Node(size_in=1)
            nengo.Connection(model.input, ens, synapse=None)
            nengo.Connection(ens, model.output, synapse=None)
        return sequence_network(model, size_out=1, seed=0)

    src, dst = build(), build()
    decoded = src.all_connections[-1]
    assert isinstance(decoded.pre_obj, nengo.Ensemble)
    decoders = np.random.RandomState(7).uniform(-1, 1, size=(10, 1))
    decoded.solver = nengo.solvers.NoSolver(decoders, weights=False)
    decoded.function = lambda x: x**2  # noqa: E731
    copy_trained(src, dst)
    twin = dst.all_connections[-1]
    assert twin.solver is decoded.solver and twin.function is decoded.function
    with pytest.raises(ValidationError, match="not built the same way"):
        copy_trained(chip_network("nengo", 8), chip_network("loihi", 9))


def test_kit_is_what_the_tasks_use():
    from nengo_lmu.tasks import mackey_glass, psmnist

    for module in (psmnist, mackey_glass):
        assert module.fit is experiment.fit and module.predict is experiment.predict
