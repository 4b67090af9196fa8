"""The LMU paper's memory-capacity experiment (nengo_lmu.tasks.capacity)."""

import nengo
import numpy as np
import pytest
from scipy.linalg import expm
from scipy.special import eval_legendre

from nengo_lmu.networks import LMUMemory
from nengo_lmu.tasks import capacity

#: The quick run's T (nengo_lmu.tasks.paper.CAPACITY_QUICK) and sequences
QUICK_STEPS = (100, 1000, 10_000)
QUICK_SEQUENCES = 8


def test_delays_and_data():
    T = 40
    assert list(capacity.capacity_delays(T)) == [0, 10, 20, 30, 40]
    u = capacity.capacity_data(T, n_sequences=6)
    assert u.shape == (6, 100)
    assert np.allclose(np.max(np.abs(u), axis=1), 1)
    # y0=0: each sequence starts at (close to) zero
    assert np.all(np.abs(u[:, 0]) < 0.2)
    # any range of sequences is the same as in the whole set
    assert np.array_equal(capacity.capacity_data(T, 6, start=4, stop=6), u[4:])
    y = capacity.capacity_targets(u, T)
    for j, d in enumerate([0, 10, 20, 30, 40]):
        assert np.array_equal(y[:, d:, j], u[:, : 100 - d])
        assert not np.any(y[:, :d, j])


def test_lmu0_system_is_the_legendre_zoh():
    """A, B, C against an independent construction (expm of the augmented
    matrix, scipy's Legendre polynomials)."""
    T, order = 100, 12
    A, B, C, theta_steps = capacity.lmu0_system(T, order, alignment="paper")
    assert theta_steps == T - 0.5
    i = np.arange(order)
    Ac = np.where(i[:, None] < i[None, :], -1.0, (-1.0) ** (i[:, None] - i + 1))
    Ac *= (2 * i + 1)[:, None]
    Bc = (2 * i + 1) * (-1.0) ** i
    M = np.zeros((order + 1, order + 1))
    M[:order, :order] = Ac / theta_steps
    M[:order, order] = Bc / theta_steps
    E = expm(M)
    assert np.allclose(A, E[:order, :order], atol=1e-12)
    assert np.allclose(B, E[:order, order], atol=1e-12)
    r = np.linspace(0, 1, 5)
    assert np.allclose(C, eval_legendre(i[None, :], 2 * r[:, None] - 1))


def test_vectorised_memory_equals_nengo_node_memory():
    """The FFT readouts equal the exact Nengo memory (a Node) step for step."""
    T, order = 100, 100
    u = capacity.capacity_data(T, n_sequences=2, start=1, stop=2)[0]
    A, B, _, theta_steps = capacity.lmu0_system(T, order)
    states = capacity.lmu0_readouts(u, A, B, np.eye(order))[0]
    with nengo.Network() as net:
        stim = nengo.Node(nengo.processes.PresentInput(u, 1.0 / T))
        memory = LMUMemory(theta_steps / T, order, dt=1.0 / T)
        nengo.Connection(stim, memory.input, synapse=None)
        probe = nengo.Probe(memory.output, synapse=None)
    with nengo.Simulator(net, dt=1.0 / T, progress_bar=False) as sim:
        sim.run_steps(len(u))
    assert np.allclose(sim.data[probe], states, atol=1e-9)


def _bound(A, B, C, T, variance, predicted):
    """The justified bound on the LMU-0's MSE per delay.

    Twice the expected error for stationary white noise (`predicted_mse`, from
    the frequency response, times the input's variance; twice for the spread
    over 4 test sequences of 10 cycles each), plus the start-up transient: a
    sequence starts from rest, which differs from stationary noise by at most
    a step of the input's size at the start, so its error is at most the
    step response's error (after the first T steps) times the variance.
    """
    h = capacity._impulse_responses(A, B, C, int(2.5 * T))
    d = capacity.capacity_delays(T)
    step = np.cumsum(h, axis=1) - (np.arange(h.shape[1]) >= d[:, None])
    return 2 * predicted + variance * np.mean(step[:, T:] ** 2, axis=1)


@pytest.mark.parametrize("alignment", ["aligned", "paper"])
def test_lmu0_mse_below_bound_at_every_quick_T(alignment):
    results = capacity.lmu0_capacity(
        QUICK_STEPS, n_sequences=QUICK_SEQUENCES, alignment=alignment
    )
    for T, res in results.items():
        A, B, C, _ = capacity.lmu0_system(T, alignment=alignment)
        bound = _bound(A, B, C, T, res["variance"], res["predicted"])
        assert np.all(res["mse"] <= bound), (T, res["mse"], bound)
        if alignment == "aligned":
            # order 100 holds 10 cycles per window almost exactly: below 1e-4
            # of an input of variance ~0.13 at every delay and T
            assert np.all(res["mse"] < 1e-4), (T, res["mse"])


def test_predicted_mse_catches_a_wrong_readout():
    """The bound can fail: reading the paper's delays with the aligned memory's
    window (misaligned by up to a step) gives errors at the inner delays far
    above the aligned readout's prediction at T = 100."""
    T = 100
    A, B, _, _ = capacity.lmu0_system(T, alignment="aligned")
    _, _, C_paper, _ = capacity.lmu0_system(T, alignment="paper")
    u = capacity.capacity_data(T, n_sequences=4)
    err = capacity.lmu0_readouts(u, A, B, C_paper) - capacity.capacity_targets(u, T)
    mse = np.mean(err[:, T:] ** 2, axis=(0, 1))
    A2, B2, C2, _ = capacity.lmu0_system(T, alignment="aligned")
    good = capacity.predicted_mse(A2, B2, C2, T) * np.var(u[:, T:])
    assert np.all(mse[1:4] > 10 * good[1:4])


def test_lstm_capacity_runs():
    res = capacity.lstm_capacity(steps=(25,), n_sequences=4, epochs=1)
    assert res[25]["mse"].shape == (5,)
    assert np.all(np.isfinite(res[25]["mse"]))


@pytest.mark.slow
def test_paper_capacity_quick(tmp_path):
    from nengo_lmu.tasks.paper import paper_capacity

    result = paper_capacity(quick=True, output=tmp_path / "capacity.png")
    for T, res in result["lmu0"].items():
        assert np.all(res["mse"] < 1e-4), (T, res["mse"])
    assert (tmp_path / "capacity.png").stat().st_size > 0
