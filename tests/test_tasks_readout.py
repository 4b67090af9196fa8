"""refit_readout: the readout fitted again on what a backend's model outputs,
against scikit-learn's softmax regression and the objective's own gradient
written out by hand."""

import copy
import warnings

import nengo
import numpy as np
import pytest
from helpers import run_sequences as run_each_sequence
from nengo.exceptions import ValidationError

from nengo_lmu.tasks.experiment import refit_readout, sequence_network

DT = 0.001


def passthrough(size):
    """A model whose output is its input: the readout's features are then the
    last input of each sequence."""
    with nengo.Network(add_to_container=False) as model:
        model.input = nengo.Node(size_in=size)
        model.output = model.input
    return model


def labelled(n=120, steps=4, dims=3, seed=0):
    """Sequences whose label is the largest of three noisy scores of the
    last step (learnable, not separable)."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, steps, dims))
    scores = x[:, -1] @ rng.normal(size=(dims, 3)) + 0.7 * rng.normal(size=(n, 3))
    return x, np.argmax(scores, axis=1)


def objective_gradient(features, labels, w, b, w0, b0, l2):
    """The refit's objective's gradient (mean cross-entropy plus l2 / 2 times
    the squared distance to (w0, b0), features standardised), by hand."""
    scale = features.std(axis=0)
    a = features / scale
    ws, w0s = (w * scale).T, (w0 * scale).T
    z = a @ ws + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(w.shape[0])[labels]) / len(a)
    return a.T @ dz + l2 * (ws - w0s), dz.sum(axis=0) + l2 * (b - b0)


def test_refit_matches_sklearn_softmax_regression():
    sklearn = pytest.importorskip("sklearn.linear_model")
    x, y = labelled()
    net = sequence_network(passthrough(3), size_out=3, readout="zeros", bias=False)
    l2 = 0.05
    before, after = refit_readout(net, x, y, backend="nengo", l2=l2)
    feats = x[:, -1]
    scale = feats.std(axis=0)
    # sklearn: C * sum(CE) + |w|^2 / 2, i.e. mean(CE) + |w|^2 / (2 C n)
    ref = sklearn.LogisticRegression(
        C=1 / (l2 * len(x)), fit_intercept=False, tol=1e-10, max_iter=10000
    ).fit(feats / scale, y)
    w = np.array(net.readout_conn.transform.init)
    assert np.allclose(w, ref.coef_ / scale, atol=2e-4)
    assert before == pytest.approx(np.mean(y == 0))  # zeros: argmax is class 0
    assert after == pytest.approx(ref.score(feats / scale, y))
    assert after > 0.6


def test_refit_with_bias_is_pulled_toward_the_trained_weights():
    x, y = labelled(seed=1)
    w0 = np.random.RandomState(2).normal(size=(3, 3))
    net = sequence_network(passthrough(3), size_out=3, readout=w0.copy())
    net.bias_conn.transform = np.array([[0.5], [-0.5], [0.0]])
    b0 = np.array([0.5, -0.5, 0.0])
    refit_readout(net, x, y, l2=0.1)
    w = np.array(net.readout_conn.transform.init)
    b = np.array(net.bias_conn.transform.init).ravel()
    gw, gb = objective_gradient(x[:, -1], y, w, b, w0, b0, 0.1)
    assert np.max(np.abs(gw)) < 1e-4 and np.max(np.abs(gb)) < 1e-4
    assert not np.allclose(w, w0, atol=1e-2) and not np.allclose(b, b0, atol=1e-2)
    # a strong pull keeps every weight and bias near where it started
    net.readout_conn.transform, net.bias_conn.transform = w0.copy(), b0[:, None]
    refit_readout(net, x, y, l2=1e4)
    assert np.allclose(net.readout_conn.transform.init, w0, atol=1e-3)
    assert np.allclose(np.ravel(net.bias_conn.transform.init), b0, atol=1e-3)
    assert net.probe in net.probes and len(net.probes) == 1  # its probe is gone


def test_refit_reads_the_output_through_the_readout_synapse_on_the_emulator():
    """Spiking neurons on the emulator: the features are the spikes filtered
    as the readout reads them, recorded here by hand in one emulator per
    sequence, and the refit is the objective's stationary point on them."""
    nengo_loihi = pytest.importorskip("nengo_loihi")
    with nengo.Network(add_to_container=False) as model:
        model.input = nengo.Node(size_in=1)
        ens = nengo.Ensemble(8, 1, neuron_type=nengo.SpikingRectifiedLinear(), seed=1)
        model.output = ens.neurons
        nengo.Connection(model.input, ens, synapse=None)
    net = sequence_network(model, size_out=2, readout="zeros", seed=0)
    net.readout_conn.synapse = nengo.Lowpass(0.005)
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, size=(12, 30, 1))
    y = (x[:, -10:, 0].mean(axis=1) > 0).astype(int)
    feats = []
    for seq in x:
        c = copy.deepcopy(net)
        c.stim.output = nengo.processes.PresentInput(seq, presentation_time=DT)
        with c:
            p = nengo.Probe(c.model.output, synapse=0.005)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with nengo_loihi.Simulator(c, dt=DT, target="sim", progress_bar=False) as s:
                s.run_steps(len(seq))
        feats.append(s.data[p][-1])
    feats = np.array(feats)
    assert np.ptp(feats) > 0
    refit_readout(net, x, y, backend="loihi", l2=0.1, batch_size=5)
    w = np.array(net.readout_conn.transform.init)
    b = np.ravel(net.bias_conn.transform.init)
    keep = feats.std(axis=0) > 0  # silent neurons: their weights stay at zero
    gw, gb = objective_gradient(
        feats[:, keep], y, w[:, keep], b, np.zeros((2, keep.sum())), 0 * b, 0.1
    )
    assert np.max(np.abs(gw)) < 1e-4 and np.max(np.abs(gb)) < 1e-4
    assert np.all(w[:, ~keep] == 0)


def test_refit_errors():
    x, y = labelled(n=6)
    net = sequence_network(passthrough(3), size_out=3, readout="zeros")
    with pytest.raises(ValidationError, match="labels"):
        refit_readout(net, x, y[:5])
    with pytest.raises(ValidationError, match=r"labels.*\[0, 3\)"):
        refit_readout(net, x, np.full(6, 3))
    with pytest.raises(ValidationError, match="labels"):
        refit_readout(net, x, np.full(6, 0.5))
    with pytest.raises(ValidationError, match="l2"):
        refit_readout(net, x, y, l2=-1)
    with pytest.raises(ValidationError, match="l2"):
        refit_readout(net, x, y, l2=np.nan)
    with pytest.raises(ValidationError, match="backend"):
        refit_readout(net, x, y, backend="gpu")
    bare = sequence_network(passthrough(3), readout=None)
    with pytest.raises(ValidationError, match="readout"):
        refit_readout(bare, x, y)
    drawn = sequence_network(
        passthrough(3), size_out=3, readout=nengo.dists.Uniform(-1, 1)
    )
    with pytest.raises(ValidationError, match="distribution"):
        refit_readout(drawn, x, y)
    assert len(net.probes) == 1  # no failed call left a probe behind


# --- correct_memory_reading ---------------------------------------------------


def twin_pair(seed=0, order=3, units=5):
    """A trained-like LMU network (exact memory) and its twin whose memory
    holds ``M s`` plus a constant where the reference holds ``s``: the same
    system in other coordinates (recurrence ``M A M^-1``, input ``M B``) with
    a constant input into the state."""
    from nengo_lmu.tasks.experiment import chip_lmu

    net = sequence_network(chip_lmu(0.02, order, units, seed=seed), size_out=2)
    twin = copy.deepcopy(net)
    rng = np.random.RandomState(seed + 1)
    M = np.eye(order) + 0.4 * rng.normal(size=(order, order))
    state = twin.lmu.memory.output
    for conn in twin.all_connections:
        if conn.post_obj is state and conn.pre_obj is state:
            A = np.array(conn.transform.init)
            conn.transform = M @ A @ np.linalg.inv(M)
        elif conn.post_obj is state:
            conn.transform = M @ np.array(conn.transform.init)
    with twin:
        nengo.Connection(nengo.Node([1.0]), state, transform=0.05 * np.ones((order, 1)))
    return net, twin, M


def hidden_input(net, x):
    """What drives the hidden units (their input current), in the reference
    simulator, each sequence from a fresh state (`helpers.run_sequences`)."""
    with net:
        p = nengo.Probe(net.lmu.hidden.neurons, "input", synapse=None)
    try:
        return run_each_sequence(net, net.stim, [p], x)[p]
    finally:
        net.probes.remove(p)


def test_correct_memory_reading_undoes_a_linear_distortion():
    from nengo_lmu.tasks.experiment import correct_memory_reading

    net, twin, M = twin_pair()
    rng = np.random.RandomState(2)
    x = rng.uniform(-1, 1, size=(8, 300, 1))
    w = np.array(twin.lmu.weight_connections["hidden_kernel"][0].transform.init)
    before, after = correct_memory_reading(
        net,
        twin,
        x,
        backend="nengo",
        reference_backend="nengo",
        window=100,
        stride=1,
        ridge=0,
    )
    assert before > 0.3 and after < 1e-3
    corrected = np.array(twin.lmu.weight_connections["hidden_kernel"][0].transform.init)
    assert np.allclose(corrected, w @ np.linalg.inv(M), atol=1e-3)
    # on new sequences the hidden units now get the reference's input over
    # the window the fit saw (the constant's response has settled there)
    x_new = rng.uniform(-1, 1, size=(3, 300, 1))
    ref, got = hidden_input(net, x_new), hidden_input(twin, x_new)
    scale = np.std(ref[:, -100:])
    assert np.max(np.abs(got[:, -100:] - ref[:, -100:])) < 1e-3 * scale
    assert np.max(np.abs(got[:, :20] - ref[:, :20])) > 1e-2 * scale  # not before


def test_correct_memory_reading_on_the_emulator_is_the_least_squares_fit():
    """A neural memory on the emulator against the same memory's rate twin in
    Nengo: the reported errors are those of an ordinary least-squares fit
    (ridge 0) on states recorded here by hand."""
    pytest.importorskip("nengo_loihi")
    from nengo_lmu.spiking import to_spiking
    from nengo_lmu.tasks.experiment import (
        chip_lmu,
        copy_trained,
        correct_memory_reading,
        run_sequences,
    )

    def build(target):
        lmu = chip_lmu(
            0.03,
            2,
            4,
            memory_neurons_per_dimension=40,
            target=target,
            tau=0.02,
            delay_steps=2,
            seed=3,
        )
        return sequence_network(lmu, size_out=2, seed=3)

    rate = build("nengo")
    chip = to_spiking(copy_trained(rate, build("loihi")))
    x = np.random.RandomState(4).uniform(0, 1, size=(6, 60, 1))
    states = []
    for net, backend in [(rate, "nengo"), (chip, "loihi")]:
        with net:
            p = nengo.Probe(net.lmu.memory.output, synapse=None)
        states.append(run_sequences(net, x, backend, probes=p)[:, -30::3])
        net.probes.remove(p)
    target, got = (s.reshape(-1, 2) for s in states)
    design = np.hstack([got, np.ones((len(got), 1))])
    fitted = design @ np.linalg.lstsq(design, target, rcond=None)[0]
    sd = target.std(axis=0)

    def nrmse(estimate):
        rms = np.sqrt(np.mean((estimate - target) ** 2, axis=0))
        return np.sqrt(np.mean((rms / sd) ** 2))

    before, after = correct_memory_reading(
        rate,
        chip,
        x,
        backend="loihi",
        reference_backend="nengo",
        window=30,
        stride=3,
        ridge=0,
    )
    assert before == pytest.approx(nrmse(got), rel=1e-6)
    assert after == pytest.approx(nrmse(fitted), rel=1e-6)
    assert after < before


def test_correct_memory_reading_errors():
    from nengo_lmu.tasks.experiment import correct_memory_reading

    net, twin, _ = twin_pair()
    x = np.zeros((2, 10, 1))
    with pytest.raises(ValidationError, match="window"):
        correct_memory_reading(net, twin, x, window=11)
    with pytest.raises(ValidationError, match="ridge"):
        correct_memory_reading(net, twin, x, window=5, ridge=-1)
    with pytest.raises(ValidationError, match="backend"):
        correct_memory_reading(net, twin, x, window=5, backend="chip")
    with pytest.raises(ValidationError, match="reference"):
        correct_memory_reading(
            sequence_network(passthrough(1), size_out=2), twin, x, window=5
        )
    other, _, _ = twin_pair(order=4)
    with pytest.raises(ValidationError, match="memory dimensions"):
        correct_memory_reading(net, other, x, window=5)
    assert len(net.probes) == 1 and len(twin.probes) == 1


def test_correct_memory_reading_on_a_trained_network_in_nengo_dl():
    """After fit (which keeps only the last step of every probe in NengoDL)
    the reference's states still come for the whole window: the correction
    of an undistorted twin is the identity."""
    from nengo_lmu.tasks.experiment import correct_memory_reading, fit

    net, _, _ = twin_pair(seed=5)
    rng = np.random.RandomState(6)
    x, y = rng.uniform(-1, 1, size=(4, 40, 1)), rng.randint(2, size=(4, 1, 1))
    fit(net, (x, y), epochs=1, batch_size=4, learning_rate=1e-3)
    twin = copy.deepcopy(net)
    w = np.array(twin.lmu.weight_connections["hidden_kernel"][0].transform.init)
    bias = np.array(twin.lmu.hidden.bias)
    before, after = correct_memory_reading(
        net, twin, x, backend="nengo", reference_backend="dl", window=20, ridge=0
    )
    assert before < 1e-5 and after < 1e-5
    new = twin.lmu.weight_connections["hidden_kernel"][0].transform.init
    assert np.allclose(new, w, atol=1e-4) and np.allclose(
        twin.lmu.hidden.bias, bias, atol=1e-4
    )
