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
import pickle
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import nengo  # noqa: E402
import numpy as np  # noqa: E402

from nengo_lmu.spiking import to_spiking  # noqa: E402
from nengo_lmu.tasks.experiment import (  # noqa: E402
    chip_lmu,
    classification_accuracy,
    copy_trained,
    fit,
    predict,
    refit_readout,
    run_sequences,
    sequence_network,
)
from nengo_lmu.tasks.psmnist import psmnist  # noqa: E402

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
        imported_network(model, k), synapse=args.synapse, tanh_max_rate=args.max_rate
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
        f"{args.synapse:g} s, tanh pairs saturating at {args.max_rate:g} Hz, "
        f"{2 * units} LIF neurons, at most {per_step:g} spike(s) per step; "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(
        f"RESULT benchmark=B6 acc_rate={acc_rate:.4f} acc_spiking={acc_spiking:.4f} "
        f"drop_points={100 * (acc_rate - acc_spiking):.2f} "
        f"max_rate_hz={rate_hz:.1f} steps_per_pixel={k}"
    )


# --- B5: the whole LMU in spiking neurons ----------------------------------


def b5_network(
    steps,
    order,
    units,
    memory_neurons=None,
    target="nengo",
    seed=0,
    synapse=0.005,
    max_rate=None,
    pixel_synapse=None,
    **memory,
):
    """psMNIST LMU: memory (exact, or neural), a rectified-linear hidden layer
    reading the memory and the pixel, a dense readout
    (`nengo_lmu.tasks.experiment.chip_lmu` and ``sequence_network``, as in
    ``examples/training_to_loihi.py``).

    The neural memory is `nengo_lmu.loihi.lmu_kwargs` with its rate twin
    (``RectifiedLinear``) for training, given ``memory`` (``tau``,
    ``input_rms``, ``input_high``, ``ensemble_dimensions``, ``delay_steps``).
    ``target="nengo"`` maps its recurrence onto Nengo's ``Lowpass`` (for
    NengoDL and nengo.Simulator), ``target="loihi"`` onto the chip's loop
    (`nengo_lmu.loihi.loop_synapse`); both represent the same Legendre
    memory, so trained weights carry over (`copy_trained`). The memory's
    input gain stays fixed at 1.
    """
    if max_rate is not None:
        memory["max_rates"] = nengo.dists.Uniform(0.9 * max_rate, 1.1 * max_rate)
    lmu = chip_lmu(
        steps * DT,
        order,
        units,
        memory_neurons_per_dimension=memory_neurons,
        target=target,
        output_synapse=synapse,
        seed=seed,
        **memory,
    )
    if pixel_synapse and target != "loihi":
        # the chip's host-to-chip input passes a decode_tau Lowpass: give
        # the hidden units the same lag in Nengo (and in training)
        for conn in lmu.all_connections:
            post = getattr(conn.post_obj, "ensemble", None)
            if conn.pre_obj is lmu.input and post is lmu.hidden:
                conn.synapse = nengo.Lowpass(pixel_synapse)
    return sequence_network(
        lmu, size_out=10, seed=seed, input_label="pixels", output_label="logits"
    )


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


def spiking_benchmark(args):
    if args.quick:
        train_data, test = psmnist(n_train=500, n_test=200, subsample=4)
        epochs, order, units = args.epochs or 15, args.order or 6, args.units or 64
        lr = args.lr or 0.1
    else:
        train_data, test = psmnist(n_train=4000, n_test=1000)
        epochs, order, units = args.epochs or 8, args.order or 6, args.units or 128
        lr = args.lr or 1e-3
    k = args.b5_steps_per_pixel
    if args.ensemble_dimensions is None:
        args.ensemble_dimensions = order
    if k > 1:  # each pixel held for k steps; theta k times as many steps
        train_data = (np.repeat(train_data[0], k, axis=1), train_data[1])
        test = (np.repeat(test[0], k, axis=1), test[1])
    x, y = test
    steps = x.shape[1]
    start = time.perf_counter()
    phases = {}

    def phase(name, since=[start]):  # noqa: B006 (the last phase's end)
        now = time.perf_counter()
        phases[name] = now - since[0]
        since[0] = now

    acc_exact = float("nan")
    if not args.no_exact:
        exact = b5_network(
            steps,
            order,
            units,
            synapse=args.output_synapse,
            pixel_synapse=args.pixel_synapse,
        )
        train(exact, train_data, epochs, lr, unroll=args.unroll)
        acc_exact = accuracy(exact, x, y)
        phase("exact")
    built = dict(
        pixel_synapse=args.pixel_synapse,
        tau=args.memory_tau,
        input_rms=args.input_rms,
        input_high=args.input_high,
        max_rate=args.memory_max_rate,
        memory_neurons=args.memory_neurons,
        synapse=args.output_synapse,
        ensemble_dimensions=args.ensemble_dimensions,
    )
    if args.trained and os.path.exists(args.trained):
        with open(args.trained, "rb") as f:
            net = pickle.load(f)  # written by this script (--trained)
    else:
        net = b5_network(steps, order, units, **built)
        train(net, train_data, epochs, lr, unroll=args.unroll)
        if args.trained:
            with open(args.trained, "wb") as f:
                pickle.dump(net, f)
    phase("train")
    acc_rate = accuracy(net, x, y)
    spiking = to_spiking(net, synapse=args.hidden_synapse, rate_scale=args.rate_scale)
    acc_spiking = accuracy(spiking, x, y)
    phase("nengo_dl")
    neurons = sum(e.n_neurons for e in spiking.all_ensembles)
    print(
        f"B5 in NengoDL: exact-memory rate {acc_exact:.4f}, rate {acc_rate:.4f}, "
        f"spiking {acc_spiking:.4f}",
        flush=True,
    )
    n_loihi = args.loihi_test or len(x)
    chip = b5_network(
        steps, order, units, target="loihi", delay_steps=args.delay_steps, **built
    )
    chip = copy_trained(net, chip)
    chip = to_spiking(chip, synapse=args.hidden_synapse, rate_scale=args.rate_scale)
    refit = ""
    if args.refit:
        # the readout (on the host) fitted again to the hidden units' spikes as
        # the emulator produces them, on training digits
        before, after = refit_readout(
            chip,
            train_data[0][: args.refit],
            train_data[1][: args.refit],
            backend="loihi",
            l2=args.refit_l2,
            batch_size=args.loihi_batch,
        )
        refit = (
            f"readout refitted on {args.refit} training digits on the emulator "
            f"(their accuracy {before:.3f} -> {after:.3f}); "
        )
        phase("refit")
    t_emulator = time.perf_counter()
    logits, rate_hz, report = loihi_run(chip, x[:n_loihi], batch=args.loihi_batch)
    emulator_s = (time.perf_counter() - t_emulator) / n_loihi
    phase("loihi")
    acc_loihi = float(np.mean(np.argmax(logits, axis=-1) == y[:n_loihi, 0, 0]))
    print(
        f"B5: {len(train_data[0])} training / {len(x)} test sequences of "
        f"{steps // k} pixels, {k} step(s) per pixel ({n_loihi} on the "
        f"emulator), order {order} with "
        f"{args.memory_neurons} neurons per dimension, {units} rectified-linear "
        f"hidden units, {epochs} epochs; exact-memory rate accuracy "
        f"{acc_exact:.4f} (same budget); rate scale {args.rate_scale:g}, hidden "
        f"synapse {args.hidden_synapse:g} s; {refit}on chip: {len(report.on_chip)} "
        f"ensembles, off chip: {len(report.off_chip)}, {report.n_blocks} cores; "
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
        "--b5-steps-per-pixel",
        type=int,
        default=1,
        help="B5: simulator steps (1 ms) per pixel",
    )
    parser.add_argument(
        "--ensemble-dimensions",
        type=int,
        default=None,
        help="B5: memory states per ensemble (default: all, one ensemble)",
    )
    parser.add_argument(
        "--memory-neurons",
        type=int,
        default=100,
        help="B5: memory neurons per dimension",
    )
    parser.add_argument(
        "--rate-scale", type=float, default=300.0, help="B5: hidden units' rate scale"
    )
    parser.add_argument(
        "--input-high",
        type=float,
        default=400.0,
        help="B5: highest input frequency (Hz) the neural memory is scaled for "
        "(permuted pixels are white up to 500 Hz)",
    )
    parser.add_argument(
        "--memory-max-rate",
        type=float,
        default=450.0,
        help="B5: memory neurons' max rate in Hz (+-10%%)",
    )
    parser.add_argument(
        "--memory-tau",
        type=float,
        default=0.02,
        help="B5: time constant of the memory's recurrent Lowpass synapse",
    )
    parser.add_argument(
        "--input-rms",
        type=float,
        default=0.5,
        help="B5: input RMS the neural memory is scaled for (pixels: 0.34)",
    )
    parser.add_argument(
        "--pixel-synapse",
        type=float,
        default=0.0,
        help="B5: Lowpass on the pixel into the hidden units in Nengo (the "
        "chip's input has decode_tau, 0.005)",
    )
    parser.add_argument(
        "--delay-steps",
        type=int,
        default=2,
        help="B5: loop delay of the chip mapping (nengo_lmu.loihi.loop_synapse)",
    )
    parser.add_argument(
        "--hidden-synapse",
        type=float,
        default=0.005,
        help="B5: synapse added to the spiking neurons' outgoing connections",
    )
    parser.add_argument(
        "--output-synapse",
        type=float,
        default=0.02,
        help="B5: synapse from the hidden units to the readout (trained with)",
    )
    parser.add_argument(
        "--unroll", type=int, default=4, help="B5: NengoDL's unroll_simulation"
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
    parser.add_argument(
        "--trained",
        default=None,
        help="B5: pickle of the trained rate network: loaded if it exists, "
        "else written after training (same options assumed)",
    )
    parser.add_argument(
        "--refit",
        type=int,
        default=0,
        help="B5: refit the readout on this many training digits on the emulator",
    )
    parser.add_argument(
        "--refit-l2",
        type=float,
        default=1e-2,
        help="B5: the refit's pull toward the trained readout",
    )
    args = parser.parse_args()
    if args.tanh:
        tanh_benchmark(args)
    else:
        spiking_benchmark(args)


if __name__ == "__main__":
    main()
