"""Benchmarks B5 and B6: the LMU in spiking neurons on psMNIST.

B5 (default): one LMU with the memory and the hidden state both in neurons
(no Node inside any recurrent loop) trained in NengoDL with rate neurons, then
run with their spiking twins in NengoDL and on the NengoLoihi emulator.

B6 (``--tanh``): a tanh LMU trained in Keras (KerasLMU) on the shipped psMNIST
training digits, imported, and run with its tanh hidden units as spiking
pairs (`nengo_lmu.spiking.to_spiking`) at several simulator steps per pixel.

    python tests/benchmarks/spiking_lmu.py [--quick]            # B5
    python tests/benchmarks/spiking_lmu.py --tanh [--quick]     # B6
"""

import argparse
import copy
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nengo  # noqa: E402
import numpy as np  # noqa: E402

from nengo_lmu.spiking import to_spiking  # noqa: E402
from nengo_lmu.tasks.experiment import (  # noqa: E402
    ENSEMBLE_PARAMS,  # noqa: E402
    classification_accuracy,
    copy_trained,
    fit,
    predict,
    run_sequences,
)
from nengo_lmu.tasks.experiment.running import _outside_memories  # noqa: E402
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402
from nengo_lmu.tasks.psmnist_chip import (  # noqa: E402
    CHIP_SETTINGS,
    NETWORK_SETTINGS,
    adjust_to_backend,
    chip_psmnist_network,
    chip_settings,
    train_chip_network,
)

DT = 0.001


def accuracy(net, x, y, batch_size=100):
    return classification_accuracy(predict(net, x, batch_size=batch_size), y)


def max_rate(net, neurons, x, n=10):
    """Highest mean firing rate (Hz) of any of ``neurons`` over ``n`` test
    sequences, in NengoDL."""
    with net:
        probe = nengo.Probe(neurons, synapse=None)
    spikes = predict(net, x[:n], last=False, probe=probe, batch_size=n)
    amplitude = neurons.ensemble.neuron_type.amplitude
    counts = np.round(spikes * DT / amplitude)  # spikes per step
    return float(np.max(counts.mean(axis=1)) / DT), float(np.max(counts))


# --- B6: spiking tanh -------------------------------------------------------


def train_keras_tanh(train, test, order, units, epochs, lr=1e-3, batch=100):
    """KerasLMU with a Dense tanh hidden cell (KerasLMU's defaults otherwise)."""
    import keras_lmu  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    (x, y), (x_test, y_test) = train, test
    tf.keras.utils.set_random_seed(0)
    steps = x.shape[1]
    model = tf.keras.Sequential(
        [
            tf.keras.Input((steps, 1)),
            keras_lmu.LMU(
                1,
                order,
                steps,
                hidden_cell=tf.keras.layers.Dense(units, activation="tanh"),
            ),
            tf.keras.layers.Dense(10),
        ]
    )
    model.compile(
        tf.optimizers.Adam(lr),
        tf.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y[:, 0, 0], batch_size=batch, epochs=epochs, verbose=2)
    acc = model.evaluate(x_test, y_test[:, 0, 0], verbose=0)[1]
    return model, acc


def imported_network(model, steps_per_pixel=1):
    """The Keras model as a Nengo network taking one pixel per
    ``steps_per_pixel`` simulator steps of 1 ms: the library's import with
    ``steps_per_sample`` (after the steps of each held pixel the memory
    equals Keras's)."""
    from nengo_lmu.interop import (  # pylint: disable=import-outside-toplevel
        network_from_keras,
    )

    with nengo.Network(seed=0) as net:
        net.stim = nengo.Node(np.zeros(1), label="pixels")
        imported = network_from_keras(model, dt=DT, steps_per_sample=steps_per_pixel)
        net.lmu = imported.lmus[0]
        nengo.Connection(net.stim, imported.input, synapse=None)
        net.probe = nengo.Probe(imported.output, synapse=None)
    return net


def tanh_ablation(model, x, y):
    """What the time resolution, the synapse and the pairs' fit each cost."""

    def with_synapse(net, synapse):
        for conn in net.all_connections:
            if getattr(conn.pre_obj, "ensemble", None) is net.lmu.hidden:
                conn.synapse = None if synapse is None else nengo.Lowpass(synapse)
        return net

    for k, synapse in [(1, 0.002), (10, 0.002), (10, 0.005), (10, 0.02), (20, 0.005)]:
        net = with_synapse(imported_network(model, k), synapse)
        acc = accuracy(net, np.repeat(x, k, axis=1), y)
        print(
            f"ablation: rate tanh, {k} steps per pixel, synapse {synapse:g} s: "
            f"{acc:.4f}"
        )
    # the pairs as rate neurons (LIFRate), one step per pixel, no synapse
    net = with_synapse(to_spiking(imported_network(model)), None)
    for ens in net.all_ensembles:
        lif = ens.neuron_type
        ens.neuron_type = nengo.LIFRate(
            tau_rc=lif.tau_rc, tau_ref=lif.tau_ref, amplitude=lif.amplitude
        )
    print(f"ablation: rate tanh pairs, 1 step per pixel: {accuracy(net, x, y):.4f}")
    for k, synapse in [(10, 0.002), (10, 0.02), (20, 0.005)]:
        net = to_spiking(
            imported_network(model, k), synapse=synapse, tanh_max_rate=1000
        )
        acc = accuracy(net, np.repeat(x, k, axis=1), y)
        print(
            f"ablation: spiking pairs (1000 Hz), {k} steps per pixel, synapse "
            f"{synapse:g} s: {acc:.4f}"
        )


def tanh_benchmark(args):
    if args.quick:
        train, test = psmnist(n_train=500, n_test=args.tanh_test or 200, subsample=4)
        epochs, order, units = args.epochs or 6, args.order or 64, args.units or 64
        lr = args.lr or 2e-2
    else:
        train, test = psmnist(n_train=4000, n_test=1000)
        epochs, order, units = args.epochs or 8, args.order or 128, args.units or 128
        lr = args.lr or 1e-3
    k = args.steps_per_pixel
    (x_test, y_test) = test
    start = time.perf_counter()
    model, acc_keras = train_keras_tanh(train, test, order, units, epochs, lr)
    rate_net = imported_network(model)
    acc_rate = accuracy(rate_net, x_test, y_test)
    spiking = to_spiking(
        imported_network(model, k),
        synapse=args.synapse,
        tanh_max_rate=args.tanh_max_rate,
    )
    x_k = np.repeat(x_test, k, axis=1)
    acc_spiking = accuracy(spiking, x_k, y_test, batch_size=args.batch)
    rate_hz, per_step = max_rate(spiking, spiking.lmu.hidden.neurons, x_k)
    if args.ablation:
        tanh_ablation(model, x_test, y_test)
    print(
        f"B6: {len(train[0])} training / {len(x_test)} test sequences of "
        f"{x_test.shape[1]} pixels, order {order}, {units} tanh units "
        f"(Dense hidden cell), {epochs} Keras epochs; Keras test accuracy "
        f"{acc_keras:.4f}; spiking: {k} steps of 1 ms per pixel, synapse "
        f"{args.synapse:g} s, tanh pairs saturating at {args.tanh_max_rate:g} Hz, "
        f"{2 * units} LIF neurons, at most {per_step:g} spike(s) per step; "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(
        f"RESULT benchmark=B6 acc_rate={acc_rate:.4f} acc_spiking={acc_spiking:.4f} "
        f"drop_points={100 * (acc_rate - acc_spiking):.2f} "
        f"max_rate_hz={rate_hz:.1f} steps_per_pixel={k}"
    )


# --- B5: the whole LMU in spiking neurons ----------------------------------


def train(net, train_data, epochs, lr, batch=100, unroll=1):
    """Train in NengoDL (memory and its input gain, ``kernel``, fixed: the
    neural memory is designed for the pixels as they are) and freeze.

    ``unroll`` steps per iteration of NengoDL's loop: more run faster per
    step, but TensorFlow takes longer to build the (gradient) graph.
    """
    fit(
        net,
        train_data,
        epochs=epochs,
        learning_rate=lr,
        batch_size=batch,
        unroll=unroll,
        fixed=["kernel"],
        verbose=2,
        progress_bar=False,
    )


def loihi_run(net, x, batch=20, n_rates=10):
    """Last-step logits of each sequence on the NengoLoihi emulator, and the
    highest mean firing rate of any on-chip neuron over the first ``n_rates``
    sequences.

    The emulator cannot reset its state, so each sequence runs in its own copy
    of the network, ``batch`` copies side by side in one emulator run
    (`nengo_lmu.tasks.experiment.run_sequences`): every sequence starts from
    zero state, as in NengoDL. The first ``n_rates`` run with a probe on every
    ensemble's spikes.
    """
    from nengo_lmu.loihi import check_loihi  # pylint: disable=import-outside-toplevel

    report = check_loihi(net)
    probed = copy.deepcopy(net)
    with probed:
        spikes = [nengo.Probe(e.neurons, synapse=None) for e in probed.all_ensembles]
    first = run_sequences(
        probed, x[:n_rates], "loihi", probes=[probed.probe] + spikes, batch_size=batch
    )
    logits = [first[0][:, -1]]
    if len(x) > n_rates:
        logits.append(
            run_sequences(net, x[n_rates:], "loihi", last=True, batch_size=batch)
        )
    rates = [np.max((s > 0).mean(axis=1)) / DT for s in first[1:]]
    return np.concatenate(logits), max(rates), report


def _weights(net):
    """The trained parameters (outside the fixed memories), named by order."""
    conns, ensembles = _outside_memories(net)
    params = {f"conn{i}": c for i, c in enumerate(conns)}
    for i, ens in enumerate(ensembles):
        params.update({f"ens{i}.{name}": (ens, name) for name in ENSEMBLE_PARAMS})
    return params


def save_weights(net, path):
    """The trained weights and ensemble parameters to an ``.npz`` file (a
    trained NengoDL network does not pickle)."""
    arrays = {}
    for key, obj in _weights(net).items():
        value = (
            getattr(*obj)
            if isinstance(obj, tuple)
            else getattr(obj.transform, "init", None)
        )
        if isinstance(value, np.ndarray):
            arrays[key] = value
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_weights(net, path):
    """Write what `save_weights` saved into ``net``, built the same way."""
    with np.load(path) as saved:
        for key, obj in _weights(net).items():
            if key in saved:
                if isinstance(obj, tuple):
                    setattr(*obj, saved[key])
                else:
                    obj.transform = saved[key]


def b5_settings(args):
    """`CHIP_SETTINGS` (the full run's), the quick run's changes, then every
    option given on the command line."""
    quick = (
        # order 6 over 196 pixels, trained fast; as trained (no adjustment on
        # training digits), to stay under 2 minutes
        dict(
            order=6,
            units=64,
            memory_neurons=100,
            epochs=15,
            learning_rate=0.1,
            correct=0,
            refit=0,
        )
        if args.quick
        else {}
    )
    given = {
        k: v for k, v in vars(args).items() if k in CHIP_SETTINGS and v is not None
    }
    if args.lr is not None:
        given["learning_rate"] = args.lr
    return chip_settings(**{**quick, **given})


def spiking_benchmark(args):
    s = b5_settings(args)
    if args.quick:
        train_data, test = psmnist(n_train=500, n_test=200, subsample=4)
    else:
        train_data, test = psmnist(n_train=4000, n_test=1000)
    k = args.b5_steps_per_pixel
    if k > 1:  # each pixel held for k steps; theta k times as many steps
        train_data = (np.repeat(train_data[0], k, axis=1), train_data[1])
        test = (np.repeat(test[0], k, axis=1), test[1])
    x, y = test
    steps = x.shape[1]
    network = {name: s[name] for name in NETWORK_SETTINGS}
    start = time.perf_counter()
    phases = {}

    def phase(name, since=[start]):  # noqa: B006 (the last phase's end)
        now = time.perf_counter()
        phases[name] = now - since[0]
        since[0] = now

    acc_exact = float("nan")
    if not args.no_exact:
        exact = chip_psmnist_network(steps, exact=True, **network)
        train_chip_network(exact, train_data, **s)
        acc_exact = accuracy(exact, x, y)
        phase("exact")
    net = chip_psmnist_network(steps, **network)
    if args.trained and os.path.exists(args.trained):
        load_weights(net, args.trained)  # written by this script (--trained)
    else:
        train_chip_network(net, train_data, **s)
        if args.trained:
            save_weights(net, args.trained)
    phase("train")
    acc_rate = accuracy(net, x, y)
    recipe = dict(correct=s["correct"], refit=s["refit"], refit_l2=s["refit_l2"])
    spiking = to_spiking(net, synapse=s["hidden_synapse"], rate_scale=s["rate_scale"])
    adjusted = adjust_to_backend(net, spiking, train_data, "dl", **recipe)
    acc_spiking = accuracy(spiking, x, y)
    phase("nengo_dl")
    neurons = sum(e.n_neurons for e in spiking.all_ensembles)
    print(
        f"B5 in NengoDL: exact-memory rate {acc_exact:.4f}, rate {acc_rate:.4f}, "
        f"spiking {acc_spiking:.4f}",
        flush=True,
    )
    n_loihi = 0 if args.no_loihi else args.loihi_test or len(x)
    acc_loihi = rate_hz = emulator_s = float("nan")
    on_chip, cores = "not run (--no-loihi)", ""
    if n_loihi:
        chip = copy_trained(net, chip_psmnist_network(steps, target="loihi", **network))
        chip = to_spiking(chip, synapse=s["hidden_synapse"], rate_scale=s["rate_scale"])
        on_chip = adjust_to_backend(net, chip, train_data, "loihi", **recipe)
        phase("adjust")
        t_emulator = time.perf_counter()
        logits, rate_hz, report = loihi_run(chip, x[:n_loihi], batch=args.loihi_batch)
        emulator_s = (time.perf_counter() - t_emulator) / n_loihi
        phase("loihi")
        acc_loihi = classification_accuracy(logits, y[:n_loihi])
        cores = (
            f"; on chip: {len(report.on_chip)} ensembles, off chip: "
            f"{len(report.off_chip)}, {report.n_blocks} cores"
        )
    print(
        f"B5: {len(train_data[0])} training / {len(x)} test sequences of "
        f"{steps // k} pixels, {k} step(s) per pixel ({n_loihi} on the "
        f"emulator); settings {s}; in NengoDL {adjusted}; on the emulator "
        f"{on_chip}{cores}; "
        f"{time.perf_counter() - start:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items())
        + ")"
    )
    print(
        f"RESULT benchmark=B5 acc_rate={acc_rate:.4f} acc_spiking={acc_spiking:.4f} "
        f"acc_loihi={acc_loihi:.4f} "
        f"drop_spiking={100 * (acc_rate - acc_spiking):.2f} "
        f"drop_loihi={100 * (acc_rate - acc_loihi):.2f} max_rate_hz={rate_hz:.1f} "
        f"neurons={neurons} acc_exact={acc_exact:.4f} steps_per_pixel={k} "
        f"emulator_s={emulator_s:.2f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="500 training / 200 test sequences, every 4th pixel",
    )
    parser.add_argument("--tanh", action="store_true", help="run B6 instead of B5")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="B6: also time resolution, synapse and fit variants",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--order", type=int, default=None)
    parser.add_argument("--units", type=int, default=None)
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="Adam's learning rate (default 1e-3; --quick: B5 0.1, B6 2e-2)",
    )
    parser.add_argument(
        "--steps-per-pixel",
        type=int,
        default=50,
        help="B6: simulator steps (1 ms) per pixel",
    )
    parser.add_argument(
        "--synapse",
        type=float,
        default=0.01,
        help="B6: synapse on the spiking tanh units' outputs",
    )
    parser.add_argument(
        "--max-rate",
        dest="tanh_max_rate",  # not B5's max_rate (--memory-max-rate)
        type=float,
        default=1000.0,
        help="B6: saturation rate of the tanh pairs (Hz)",
    )
    parser.add_argument(
        "--tanh-test",
        type=int,
        default=None,
        help="B6 --quick: test digits (default 200; the same model is trained)",
    )
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--no-exact",
        action="store_true",
        help="B5: skip the exact-memory comparison (acc_exact=nan)",
    )
    parser.add_argument(
        "--no-loihi",
        action="store_true",
        help="B5: skip the emulator (acc_loihi=nan)",
    )
    parser.add_argument(
        "--b5-steps-per-pixel",
        type=int,
        default=1,
        help="B5: simulator steps (1 ms) per pixel",
    )
    # B5's settings: default CHIP_SETTINGS (nengo_lmu.tasks.psmnist_chip)
    for flag, dest, kind, text in [
        ("--memory-neurons", "memory_neurons", int, "memory neurons per dimension"),
        ("--memory-tau", "tau", float, "the memory's recurrent synapse (s)"),
        ("--input-rms", "input_rms", float, "input RMS the memory is scaled for"),
        ("--input-high", "input_high", float, "highest input frequency (Hz)"),
        ("--memory-max-rate", "max_rate", float, "memory neurons' rate (Hz, +-10%%)"),
        ("--delay-steps", "delay_steps", int, "the chip loop's extra delay"),
        (
            "--hidden-synapse",
            "hidden_synapse",
            float,
            "on the spiking neurons' outputs",
        ),
        ("--output-synapse", "output_synapse", float, "hidden units to the readout"),
        ("--rate-scale", "rate_scale", float, "hidden units' rate scale"),
        ("--unroll", "unroll", int, "NengoDL's unroll_simulation"),
        ("--correct", "correct", int, "training digits to correct the memory reading"),
        ("--refit", "refit", int, "training digits to refit the readout on"),
        (
            "--refit-l2",
            "refit_l2",
            float,
            "the refit's pull toward the trained readout",
        ),
    ]:
        parser.add_argument(
            flag, dest=dest, type=kind, default=None, help=f"B5: {text}"
        )
    parser.add_argument(
        "--trained",
        default=None,
        help="B5: pickle of the trained rate network: loaded if it exists, "
        "else written after training (same options assumed)",
    )
    parser.add_argument(
        "--loihi-batch",
        type=int,
        default=50,
        help="B5: network copies (test sequences) per emulator run",
    )
    parser.add_argument(
        "--loihi-test",
        type=int,
        default=None,
        help="B5: test sequences run on the emulator (default all)",
    )
    args = parser.parse_args()
    if args.tanh:
        tanh_benchmark(args)
    else:
        spiking_benchmark(args)


if __name__ == "__main__":
    main()
