"""Training an exported LMU network with tf.distribute, then running it spiking
in Nengo (nengo_lmu.interop.to_keras, network_from_keras, dl.to_spiking).

Each training runs in fresh Python processes (``python tests/test_distribute.py
WORKER ...``), so that their TensorFlow device and cluster settings do not
clash with other tests' TensorFlow state.
"""

import json
import os
import socket
import subprocess
import sys

import nengo
import numpy as np
from helpers import run_network

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DT = 0.001
STEPS, UNITS, N_TRAIN, N_TEST = 16, 12, 128, 8
TIMEOUT = 150  # seconds, generous for a loaded machine; takes 10-30 s alone


def data(n, seed):
    """Sequences and their mean, a target the memory's first coefficients
    carry."""
    x = np.random.RandomState(seed).uniform(-1, 1, size=(n, STEPS, 1))
    return x, x.mean(axis=1)


def network():
    """An LMU with a relu Dense hidden cell (LMUFeedforward in Keras) and a
    linear readout, as a chain network."""
    from nengo_lmu import LMU  # pylint: disable=import-outside-toplevel

    net = nengo.Network(seed=0)
    with net:
        net.input = nengo.Node(size_in=1)
        lmu = LMU(
            1,
            1,
            8,
            STEPS * DT,
            hidden_units=UNITS,
            hidden_recurrent=False,
            hidden_neuron_type=nengo.RectifiedLinear(),
            input_to_hidden=True,
            hidden_bias_initializer=nengo.dists.Uniform(0, 0.2),
            seed=1,
        )
        nengo.Connection(net.input, lmu.input, synapse=None)
        net.output = nengo.Node(size_in=1)
        nengo.Connection(
            lmu.output,
            net.output,
            synapse=None,
            transform=np.random.RandomState(2).uniform(-0.3, 0.3, (1, UNITS)),
        )
    net.layers = [lmu, net.output]
    return net


def train(strategy, out_dir):
    """The worker: train the exported model under ``strategy``, save it."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from nengo_lmu.interop import to_keras  # pylint: disable=import-outside-toplevel

    if strategy == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        dist = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        chief = True
    else:
        dist = tf.distribute.MultiWorkerMirroredStrategy()
        chief = json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 0
    tf.keras.utils.set_random_seed(0)
    x, y = data(N_TRAIN, seed=3)
    with dist.scope():
        model = to_keras(network(), n_steps=STEPS)
        model.compile(tf.optimizers.Adam(0.01), "mse")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    dataset = dataset.with_options(options)
    before = model.evaluate(dataset, verbose=0)
    model.fit(dataset, epochs=25, verbose=0)
    after = model.evaluate(dataset, verbose=0)
    # every worker saves (Keras's collective save); the chief's copy is kept
    path = os.path.join(out_dir, "model.h5" if chief else f"worker{os.getpid()}.h5")
    model.save(path)
    if chief:
        with open(os.path.join(out_dir, "result.json"), "w") as f:
            json.dump(
                {
                    "replicas": dist.num_replicas_in_sync,
                    "before": before,
                    "after": after,
                },
                f,
            )


def run_workers(strategy, out_dir, n_workers):
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        OMP_NUM_THREADS="1",
        TF_NUM_INTRAOP_THREADS="1",
        TF_NUM_INTEROP_THREADS="1",
    )
    ports = []
    for _ in range(n_workers):
        with socket.socket() as s:
            s.bind(("localhost", 0))
            ports.append(s.getsockname()[1])
    procs = []
    for index in range(n_workers):
        if strategy == "multiworker":
            env = dict(
                env,
                TF_CONFIG=json.dumps(
                    {
                        "cluster": {"worker": [f"localhost:{p}" for p in ports]},
                        "task": {"type": "worker", "index": index},
                    }
                ),
            )
        procs.append(
            subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), strategy, str(out_dir)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=TIMEOUT)[0].decode())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-3000:]
    with open(os.path.join(out_dir, "result.json")) as f:
        return json.load(f)


def check_trained_model(out_dir):
    """Import the trained model; its rate network matches Keras, its spiking
    twin follows the rate network."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from nengo_lmu.interop import (  # pylint: disable=import-outside-toplevel
        load_keras_model,
        network_from_keras,
    )
    from nengo_lmu.spiking import to_spiking  # pylint: disable=import-outside-toplevel

    model = load_keras_model(os.path.join(out_dir, "model.h5"))
    assert type(model.layers[1]).__name__ == "LMUFeedforward"
    x, y = data(N_TEST, seed=4)
    keras_out = model(tf.constant(x, dtype=tf.float32)).numpy()
    rate = network_from_keras(model, dt=DT)
    # dense spikes (about 100 per neuron and step at rate 1) passed on without
    # filtering, a synapse's one-step delay: the spiking network should follow
    # the rate one a step later
    spiking = to_spiking(rate, synapse=nengo.LinearFilter([1], [1]), rate_scale=1e5)
    assert all(
        isinstance(e.neuron_type, nengo.SpikingRectifiedLinear)
        for e in spiking.all_ensembles
    )
    outs = {
        name: run_network(net, x)[:, -2:]
        for name, net in (("rate", rate), ("spiking", spiking))
    }
    rate_last, rate_before, spiking_last = (
        outs["rate"][:, -1],
        outs["rate"][:, -2],
        outs["spiking"][:, -1],
    )
    assert np.max(np.abs(rate_last - keras_out)) < 1e-5
    # trained: the Keras model predicts the target better than its mean
    assert np.mean((keras_out - y) ** 2) < 0.5 * np.var(y)
    err = np.sqrt(np.mean((spiking_last - rate_before) ** 2))
    assert err < 0.05 * np.std(rate_last)
    assert np.any(spiking_last != rate_before)  # really spiking


def test_mirrored_strategy_two_devices(tmp_path):
    result = run_workers("mirrored", tmp_path, n_workers=1)
    assert result["replicas"] == 2
    assert result["after"] < 0.5 * result["before"]
    check_trained_model(tmp_path)


def test_multi_worker_mirrored_strategy(tmp_path):
    result = run_workers("multiworker", tmp_path, n_workers=2)
    assert result["replicas"] == 2
    assert result["after"] < 0.5 * result["before"]
    check_trained_model(tmp_path)


if __name__ == "__main__":
    train(sys.argv[1], sys.argv[2])
