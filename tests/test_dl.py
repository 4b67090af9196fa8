import os
import sys

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import nengo_dl  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.dl import configure_training, spiking_twin, to_spiking  # noqa: E402


def delay_data(n, steps, delay, seed):
    """Random sequences; target: the input `delay` steps back, at every step."""
    rng = np.random.RandomState(seed)
    x = np.cumsum(rng.normal(scale=0.3, size=(n, steps, 1)), axis=1)
    x = np.tanh(x).astype(np.float32)
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


def build_lmu_net(**kwargs):
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(1))
        lmu = LMU(1, 1, 6, 0.02, hidden_units=16, seed=0, **kwargs)
        readout = nengo.Node(size_in=1)
        nengo.Connection(stim, lmu.input, synapse=None)
        nengo.Connection(lmu.output, readout,
                         transform=np.zeros((1, 16)), synapse=None)
        probe = nengo.Probe(readout, synapse=None)
    net.stim, net.lmu, net.probe = stim, lmu, probe
    return net


def test_fit_lowers_loss_and_keeps_memory_fixed():
    net = build_lmu_net(input_to_hidden=True)
    configure_training(net, keep_history=True)
    x, y = delay_data(320, 40, delay=10, seed=0)
    abar = net.lmu.memory.all_connections[0]
    before = np.array(abar.transform.init)
    hidden_in = [c for c in net.lmu.all_connections
                 if c.post_obj == net.lmu.hidden.neurons]
    assert len(hidden_in) == 3  # from m, from x, recurrent
    hidden_before = [np.array(c.transform.init) for c in hidden_in]
    with nengo_dl.Simulator(net, minibatch_size=32, seed=0, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(0.01), loss=tf.losses.mse)
        loss0 = sim.evaluate({net.stim: x}, {net.probe: y}, verbose=0)["loss"]
        sim.fit({net.stim: x}, {net.probe: y}, epochs=1, verbose=0)  # one epoch
        loss1 = sim.evaluate({net.stim: x}, {net.probe: y}, verbose=0)["loss"]
        sim.freeze_params(net)
    assert loss1 < 0.7 * loss0, (loss0, loss1)  # measured 0.306 -> 0.117
    # memory fixed (freeze_params writes it back through float32)
    assert np.allclose(np.array(abar.transform.init), before, atol=1e-6)
    assert any(not np.allclose(c.transform.init, b)  # hidden weights trained
               for c, b in zip(hidden_in, hidden_before))


def test_train_memory_and_trainable_theta():
    net = build_lmu_net(discretizer="euler", trainable_theta=True)
    configure_training(net, keep_history=True)
    x, y = delay_data(32, 30, delay=5, seed=1)
    gain0 = float(net.lmu.theta_connection.transform.init)
    A_conn = [c for c in net.lmu.fixed_connections
              if getattr(c.transform, "shape", None) == (6, 6)][0]
    A0 = np.array(A_conn.transform.init)
    with nengo_dl.Simulator(net, minibatch_size=32, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(0.01), loss=tf.losses.mse)
        sim.fit({net.stim: x}, {net.probe: y}, epochs=3, verbose=0)
        sim.freeze_params(net)
    # theta's gain dt/theta trained; the rest of the memory did not
    assert float(net.lmu.theta_connection.transform.init) != pytest.approx(gain0)
    assert np.allclose(A_conn.transform.init, A0, atol=1e-6)


def test_spiking_twins():
    assert isinstance(spiking_twin(nengo.RectifiedLinear(amplitude=0.1)),
                      nengo.SpikingRectifiedLinear)
    assert spiking_twin(nengo.RectifiedLinear(amplitude=0.1)).amplitude == 0.1
    lif = spiking_twin(nengo.LIFRate(tau_rc=0.03))
    assert isinstance(lif, nengo.LIF) and lif.tau_rc == 0.03
    assert isinstance(spiking_twin(nengo_dl.SoftLIFRate()), nengo.LIF)
    with pytest.raises(ValidationError, match="Tanh"):
        spiking_twin(nengo.Tanh())


def test_to_spiking_approaches_rate_output():
    """Spiking outputs approach the rate outputs as the synapse filters them."""
    rng = np.random.RandomState(0)
    # high firing rates with a small amplitude, as for a spiking deployment
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(2.0, high=2, rms=0.5, seed=0))
        lmu = LMU(1, 1, 4, 0.1, hidden_units=50, hidden_recurrent=False,
                  hidden_neuron_type=nengo.RectifiedLinear(amplitude=0.01),
                  hidden_kernel_initializer=rng.normal(scale=100, size=(4, 50)),
                  hidden_bias_initializer=rng.uniform(50, 150, size=50),
                  seed=0)
        nengo.Connection(stim, lmu.input, synapse=None)
        net.probe = nengo.Probe(lmu.output, synapse=0.02)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(2.0)
    rate = sim.data[net.probe]
    errors = []
    for tau in [0.001, 0.005, 0.02]:
        spiking = to_spiking(net, synapse=tau)
        assert isinstance(spiking.all_ensembles[0].neuron_type,
                          nengo.SpikingRectifiedLinear)
        assert isinstance(net.all_ensembles[0].neuron_type, nengo.RectifiedLinear)
        with nengo.Simulator(spiking, progress_bar=False) as sim:
            sim.run(2.0)
        out = sim.data[spiking.probe]
        # the added synapse also filters the signal itself: compare with the
        # rate output through the same synapse
        ref = nengo.Lowpass(tau).filt(rate, dt=0.001, y0=0)
        errors.append(np.sqrt(np.mean((out - ref) ** 2)) / np.sqrt(np.mean(ref**2)))
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 0.1, errors


def test_to_spiking_refuses_sigmoid_and_changes_nothing():
    # tanh units become pairs (tests/test_spiking.py); sigmoid has no twin
    net = build_lmu_net(hidden_neuron_type=nengo.Sigmoid())
    with pytest.raises(ValidationError, match="Sigmoid"):
        to_spiking(net)
    assert isinstance(net.lmu.hidden.neuron_type, nengo.Sigmoid)
    with pytest.raises(ValidationError, match="synapse"):
        to_spiking(nengo.Network(), synapse="fast")
    with pytest.raises(ValidationError, match="network"):
        configure_training("net")


def test_missing_nengo_dl_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nengo_dl", None)
    with pytest.raises(ImportError, match=r"\[dl\]"):
        configure_training(nengo.Network())


def test_rate_scale_keeps_rate_function():
    """Scaling rectified-linear rates changes nothing in rate mode but gives
    more spikes, and so a more accurate spiking output."""
    rng = np.random.RandomState(1)
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(1.0, high=2, rms=0.5, seed=1))
        lmu = LMU(1, 1, 4, 0.1, hidden_units=30, hidden_recurrent=False,
                  hidden_neuron_type=nengo.RectifiedLinear(),
                  hidden_kernel_initializer=rng.normal(size=(4, 30)),
                  hidden_bias_initializer=rng.uniform(0, 1, size=30), seed=0)
        nengo.Connection(stim, lmu.input, synapse=None)
        net.probe = nengo.Probe(lmu.output, synapse=0.01)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(1.0)
    rate = nengo.Lowpass(0.01).filt(sim.data[net.probe], dt=0.001, y0=0)
    errors = []
    for scale in [1.0, 100.0]:
        spiking = to_spiking(net, synapse=0.01, rate_scale=scale)
        with nengo.Simulator(spiking, progress_bar=False) as sim:
            sim.run(1.0)
        errors.append(np.sqrt(np.mean((sim.data[spiking.probe] - rate) ** 2)))
    assert errors[1] < 0.2 * errors[0], errors
    with pytest.raises(ValidationError, match="rate_scale"):
        to_spiking(net, rate_scale=-1)


# ---------------------------------------------------------------------------
# NengoDL: repeatable training, saved parameters


@pytest.fixture(scope="module")
def dl():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import nengo_dl
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return nengo_dl, tf


def trainable_net(hidden_units=8, order=4):
    from nengo_lmu.dl import configure_training

    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(1))
        lmu = LMU(
            1, 1, order, 0.01, hidden_units=hidden_units,
            hidden_neuron_type=nengo.RectifiedLinear(), seed=0,
        )
        out = nengo.Node(size_in=1)
        nengo.Connection(stim, lmu.input, synapse=None)
        nengo.Connection(
            lmu.output, out, transform=np.full((1, hidden_units), 0.1), synapse=None
        )
        probe = nengo.Probe(out, synapse=None)
    configure_training(net, keep_history=True)
    net.stim, net.probe, net.lmu = stim, probe, lmu
    return net


def delay_xy():
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, size=(16, 20, 1)).astype(np.float32)
    return x, np.roll(x, 3, axis=1)


def train(dl, net, path=None):
    nengo_dl, tf = dl
    x, y = delay_xy()
    with nengo_dl.Simulator(net, minibatch_size=8, seed=0, progress_bar=False) as sim:
        sim.compile(optimizer=tf.optimizers.Adam(0.01), loss=tf.losses.mse)
        sim.fit({net.stim: x}, {net.probe: y}, epochs=2, verbose=0)
        weights = [np.array(w) for w in sim.keras_model.get_weights()]
        out = sim.predict({net.stim: x}, verbose=0)[net.probe]
        if path is not None:
            sim.save_params(path)
        sim.freeze_params(net)
    return weights, out


def test_nengo_dl_training_is_repeatable(dl):
    w1, out1 = train(dl, trainable_net())
    w2, out2 = train(dl, trainable_net())
    assert len(w1) == len(w2) > 0
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert np.array_equal(out1, out2)
    # and training changed the weights
    nengo_dl, _ = dl
    net = trainable_net()
    with nengo_dl.Simulator(net, minibatch_size=8, seed=0, progress_bar=False) as sim:
        initial = [np.array(w) for w in sim.keras_model.get_weights()]
    assert any(not np.array_equal(a, b) for a, b in zip(initial, w1))


def test_nengo_dl_params_save_and_load(dl, tmp_path):
    nengo_dl, _ = dl
    path = str(tmp_path / "params")
    _, trained_out = train(dl, trainable_net(), path=path)
    x, _ = delay_xy()
    net = trainable_net()
    with nengo_dl.Simulator(net, minibatch_size=8, seed=0, progress_bar=False) as sim:
        fresh = sim.predict({net.stim: x}, verbose=0)[net.probe]
        sim.load_params(path)
        loaded = sim.predict({net.stim: x}, verbose=0)[net.probe]
    assert not np.array_equal(fresh, trained_out)
    assert np.array_equal(loaded, trained_out)


@pytest.fixture(scope="module")
def saved_params(dl, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("params") / "params")
    train(dl, trainable_net(), path=path)
    return path


@pytest.mark.parametrize("shape", [dict(hidden_units=16), dict(order=6)])
def test_params_of_another_shape_are_refused_and_nothing_half_loaded(
    dl, saved_params, shape
):
    """nengo_lmu.dl.load_params checks every shape before assigning anything
    (NengoDL's own load_params assigns until the first mismatch)."""
    from nengo_lmu.dl import load_params

    nengo_dl, _ = dl
    net = trainable_net(**shape)
    with nengo_dl.Simulator(net, minibatch_size=8, seed=0, progress_bar=False) as sim:
        before = [np.array(w) for w in sim.keras_model.get_weights()]
        with pytest.raises(nengo.exceptions.ValidationError, match="another shape"):
            load_params(sim, saved_params)
        after = [np.array(w) for w in sim.keras_model.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_load_params_loads_and_refuses_foreign_files(dl, saved_params, tmp_path):
    from nengo_lmu.dl import load_params

    nengo_dl, _ = dl
    x, _ = delay_xy()
    net = trainable_net()
    with nengo_dl.Simulator(net, minibatch_size=8, seed=0, progress_bar=False) as sim:
        load_params(sim, saved_params)
        ours = sim.predict({net.stim: x}, verbose=0)[net.probe]
    net = trainable_net()
    with nengo_dl.Simulator(net, minibatch_size=8, seed=0, progress_bar=False) as sim:
        sim.load_params(saved_params)  # NengoDL's own, on a matching network
        theirs = sim.predict({net.stim: x}, verbose=0)[net.probe]
        bad = tmp_path / "bad.npz"
        bad.write_text("not numpy")
        with pytest.raises(nengo.exceptions.ValidationError, match="path"):
            load_params(sim, bad)
        np.savez(tmp_path / "few.npz", np.zeros(3))
        with pytest.raises(nengo.exceptions.ValidationError, match="nothing"):
            load_params(sim, tmp_path / "few")
    assert np.array_equal(ours, theirs)


# --- damaged parameter files: property test --------------------------------------

from collections import Counter  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PARAMS_TRIED = Counter()


@pytest.fixture(scope="module")
def params_sim(dl):
    nengo_dl, _ = dl
    net = trainable_net()
    with nengo_dl.Simulator(net, minibatch_size=8, seed=0, progress_bar=False) as sim:
        yield sim


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(op=st.sampled_from(["cut", "flip"]), where=st.floats(0, 1, exclude_max=True),
       mask=st.integers(1, 255))
def test_damaged_params_are_refused_and_nothing_loaded(params_sim, saved_params,
                                                       tmp_path, op, where, mask):
    from nengo_lmu.dl import load_params

    data = bytearray(open(saved_params + ".npz", "rb").read())
    at = int(where * len(data))
    if op == "cut":
        data = data[:at]
    else:
        data[at] ^= mask
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(data))
    before = [np.array(w) for w in params_sim.keras_model.get_weights()]
    try:
        load_params(params_sim, path)
    except ValidationError as err:
        assert str(path) in str(err)
        after = [np.array(w) for w in params_sim.keras_model.get_weights()]
        assert all(np.array_equal(a, b) for a, b in zip(before, after))
        PARAMS_TRIED[op, "refused"] += 1
        return
    PARAMS_TRIED[op, "loaded"] += 1
    assert op == "flip"  # a file cut short is never loaded
    assert all(np.all(np.isfinite(w)) for w in params_sim.keras_model.get_weights())


def test_params_property_cases_tried():
    print("[robustness] saved-parameter cases:", dict(PARAMS_TRIED))


def test_to_spiking_takes_numpy_scalars():
    with nengo.Network() as net:
        ens = nengo.Ensemble(5, 1, neuron_type=nengo.RectifiedLinear(),
                             gain=np.ones(5), bias=np.zeros(5))
        out = nengo.Node(size_in=5)
        nengo.Connection(ens.neurons, out, synapse=None)
    spiking = to_spiking(net, synapse=np.float32(0.01), rate_scale=np.float32(2.0))
    conn = spiking.all_connections[0]
    assert isinstance(conn.synapse, nengo.Lowpass)
    assert conn.synapse.tau == pytest.approx(0.01)
    assert isinstance(spiking.all_ensembles[0].neuron_type,
                      nengo.SpikingRectifiedLinear)
    for kwargs in ({"synapse": "0.01"}, {"rate_scale": np.float32(-1)},
                   {"rate_scale": True}):
        with pytest.raises(ValidationError):
            to_spiking(net, **kwargs)
