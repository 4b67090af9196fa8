"""The NengoDL simplification fusing a connection's product and copy
(nengo_lmu.dl.fusion)."""

import os

import nengo
import numpy as np
import pytest
from nengo.builder.operator import Copy, DotInc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import nengo_dl  # noqa: E402
import tensorflow as tf  # noqa: E402

from nengo_lmu import LMU  # noqa: E402
from nengo_lmu.dl import configure_training  # noqa: E402
from nengo_lmu.dl.fusion import fuse_dot_copies  # noqa: E402

DT = 0.001


def build(probe_weighted=False):
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(np.zeros(2))
        lmu = LMU(
            2,
            2,
            4,
            0.01,
            hidden_units=5,
            input_to_hidden=True,
            hidden_to_memory=True,
            memory_to_memory=True,
            use_bias=True,
            seed=1,
        )
        nengo.Connection(stim, lmu.input, synapse=None)
        out = nengo.Node(size_in=3)
        conn = nengo.Connection(
            lmu.output,
            out,
            synapse=None,
            transform=np.random.RandomState(2).randn(3, 5),
        )
        probes = [nengo.Probe(out, synapse=None)]
        if probe_weighted:
            probes.append(nengo.Probe(conn, "output", synapse=None))
    return net, stim, probes


def simulate(net, stim, probes, simplifications, x, y=None):
    """Ops of the plan, and the outputs (``y=None``) or, after one epoch of
    training, the loss and every connection's trained weights."""
    configure_training(net, simplifications=simplifications)
    with nengo_dl.Simulator(
        net,
        dt=DT,
        minibatch_size=len(x),
        unroll_simulation=1,
        progress_bar=False,
        seed=0,
    ) as sim:
        ops = [op for group in sim.tensor_graph.plan for op in group]
        if y is None:
            out = sim.predict({stim: x}, n_steps=x.shape[1])
            return ops, [out[p] for p in probes]
        sim.compile(optimizer=tf.optimizers.SGD(0.5), loss={probes[0]: tf.losses.mse})
        history = sim.fit({stim: x}, {probes[0]: y}, epochs=1, verbose=0)
        weights = [
            sim.data[conn].weights
            for conn in net.all_connections
            if isinstance(conn.transform, nengo.transforms.Dense)
        ]
    return ops, (history.history["loss"][0], weights)


def test_fused_graph_trains_the_same():
    default = nengo_dl.graph_optimizer.default_simplifications
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, size=(4, 6, 2))
    y = rng.uniform(-1, 1, size=(4, 6, 3))
    net, stim, probes = build()
    initial = [
        conn.transform.init
        for conn in net.all_connections
        if isinstance(conn.transform, nengo.transforms.Dense)
        and isinstance(conn.transform.init, np.ndarray)
    ]
    ops_plain, (loss_plain, plain) = simulate(net, stim, probes, default, x, y)
    ops_fused, (loss_fused, fused) = simulate(
        *build(), default + (fuse_dot_copies,), x, y
    )
    # the same loss and the same trained weights (float32 rounding only)
    assert loss_plain == pytest.approx(loss_fused, rel=1e-5)
    changed = 0
    for w_plain, w_fused in zip(plain, fused):
        assert np.allclose(w_plain, w_fused, rtol=1e-5, atol=1e-6)
        changed += not any(
            w.shape == np.shape(w_plain) and np.allclose(w, w_plain) for w in initial
        )
    assert changed >= 4  # training moved the kernels
    # connections in the LMU lost their copies
    assert len(ops_fused) < len(ops_plain)
    assert sum(isinstance(op, Copy) for op in ops_fused) < sum(
        isinstance(op, Copy) for op in ops_plain
    )
    assert any(type(op) is DotInc for op in ops_fused)


def test_fused_graph_computes_the_same():
    default = nengo_dl.graph_optimizer.default_simplifications
    x = np.random.RandomState(5).uniform(-1, 1, size=(2, 6, 2))
    _, (plain,) = simulate(*build(), default, x)
    _, (fused,) = simulate(*build(), default + (fuse_dot_copies,), x)
    assert np.std(plain) > 0.1
    assert np.max(np.abs(plain - fused)) < 1e-5


def test_probed_weighted_signal_is_kept():
    """A probe on a connection's weighted output keeps that signal."""
    default = nengo_dl.graph_optimizer.default_simplifications
    x = np.random.RandomState(4).uniform(-1, 1, size=(2, 6, 2))
    _, (out, weighted) = simulate(
        *build(probe_weighted=True), default + (fuse_dot_copies,), x
    )
    assert np.max(np.abs(out - weighted)) < 1e-6
    assert np.std(weighted) > 0.1


def test_leaves_nothing_to_fuse_alone():
    ops = [Copy(nengo.builder.Signal(np.zeros(2)), nengo.builder.Signal(np.zeros(2)))]
    assert fuse_dot_copies(ops) is ops
