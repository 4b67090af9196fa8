"""psMNIST on Loihi: the model and recipe of benchmark B5 and of the guide's
example (``examples/training_to_loihi.py``), written once.

The recipe: an LMU whose every part runs on the chip
(`nengo_lmu.tasks.experiment.chip_lmu`: a neural memory with the settings of
`nengo_lmu.loihi.lmu_kwargs`, rectified-linear hidden units reading the
memory and the pixel, a dense readout on the host), trained in NengoDL with
rate neurons (`chip_psmnist_network` with ``target="nengo"``,
`train_chip_network`), its weights
copied into the twin whose memory is mapped for the chip's loop
(``target="loihi"``, `nengo_lmu.tasks.experiment.copy_trained`), made spiking
(`nengo_lmu.spiking.to_spiking`) and adjusted on training digits to what the
emulator makes of it (`adjust_to_backend`:
`nengo_lmu.tasks.experiment.correct_memory_reading`, then
`nengo_lmu.tasks.experiment.refit_readout`).

`CHIP_SETTINGS` are the settings measured for psMNIST's full 784 pixels
(``docs/benchmarks.rst``, B5).
"""

import nengo
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_count
from nengo_lmu.tasks.experiment import (
    chip_lmu,
    correct_memory_reading,
    fit,
    refit_readout,
    sequence_network,
)

#: B5's model and recipe (see the module docstring; ``docs/benchmarks.rst``)
CHIP_SETTINGS = {
    # the model
    "order": 12,  # order 6 holds too little of 784 pixels (0.46 at best)
    "units": 128,
    "memory_neurons": 50,  # per dimension; 600 neurons fit one chip core
    "tau": 0.02,  # the memory's recurrent synapse (s)
    "delay_steps": 2,  # the chip loop's extra delay
    "input_rms": 0.5,  # permuted pixels: rms 0.34, white up to 500 Hz
    "input_high": 400.0,
    "max_rate": 450.0,  # memory neurons' rates, +-10 %
    "output_synapse": 0.02,  # hidden units to the readout, trained with it
    # spiking
    "hidden_synapse": 0.005,
    "rate_scale": 300.0,
    # training (NengoDL, rate neurons)
    "epochs": 30,
    "learning_rate": 3e-2,
    "batch_size": 100,
    "unroll": 4,
    # adjusting to the backend, on training digits
    "correct": 300,
    "refit": 300,
    "refit_l2": 0.3,  # 0.01 overfits 300 digits (see docs/benchmarks.rst)
}

#: The settings that shape the network (the rest are the recipe's)
NETWORK_SETTINGS = (
    "order",
    "units",
    "memory_neurons",
    "tau",
    "delay_steps",
    "input_rms",
    "input_high",
    "max_rate",
    "output_synapse",
)


def chip_settings(**overrides):
    """`CHIP_SETTINGS` with ``overrides`` (each must be one of its keys)."""
    unknown = sorted(set(overrides) - set(CHIP_SETTINGS))
    if unknown:
        raise ValidationError(
            f"unknown settings {unknown}; known: {sorted(CHIP_SETTINGS)}",
            attr="overrides",
        )
    return {**CHIP_SETTINGS, **overrides}


def chip_psmnist_network(
    steps, target="nengo", exact=False, seed=0, dt=0.001, **settings
):
    """The psMNIST LMU of `CHIP_SETTINGS` as a sequence network.

    Parameters
    ----------
    steps : int
        Simulator steps per sequence (the memory's window, ``theta``).
    target : "nengo" or "loihi"
        What the neural memory's recurrence is mapped for
        (`nengo_lmu.tasks.experiment.chip_lmu`).
    exact : bool
        An exact memory (a Node) instead of the neural one, for comparison.
    seed : int
    dt : float
    **settings
        Overrides of `CHIP_SETTINGS`' network settings (`NETWORK_SETTINGS`).

    Returns
    -------
    net : nengo.Network
        A `nengo_lmu.tasks.experiment.sequence_network` with ``stim``
        ("pixels"), ``lmu``, ``readout_conn`` and ``probe`` (10 logits).

    Examples
    --------
    >>> net = chip_psmnist_network(784, target="loihi", units=16)
    >>> net.probe.size_in
    10
    """
    steps = check_count(steps, "steps")
    s = chip_settings(**settings)
    extra = sorted(set(settings) - set(NETWORK_SETTINGS))
    if extra:
        raise ValidationError(
            f"{extra} are recipe settings, not the network's; network settings: "
            f"{list(NETWORK_SETTINGS)}",
            attr="settings",
        )
    memory = {}
    if not exact:
        rate = s["max_rate"]
        memory = dict(
            memory_neurons_per_dimension=s["memory_neurons"],
            tau=s["tau"],
            input_rms=s["input_rms"],
            input_high=s["input_high"],
            max_rates=nengo.dists.Uniform(0.9 * rate, 1.1 * rate),
            ensemble_dimensions=s["order"],  # one ensemble: see the guide
        )
        if target == "loihi":
            memory["delay_steps"] = s["delay_steps"]
    lmu = chip_lmu(
        steps * dt,
        s["order"],
        s["units"],
        target=target,
        output_synapse=s["output_synapse"],
        seed=seed,
        dt=dt,
        **memory,
    )
    return sequence_network(
        lmu, size_out=10, seed=seed, input_label="pixels", output_label="logits"
    )


def train_chip_network(net, train_data, **settings):
    """Train ``net`` (`chip_psmnist_network`, ``target="nengo"``) in NengoDL
    with the recipe's ``epochs``, ``learning_rate``, ``batch_size`` and
    ``unroll`` (`CHIP_SETTINGS`, or ``settings``), the memory and its input
    weight fixed (the neural memory is designed for the pixels as they are),
    and write the trained weights back (`nengo_lmu.tasks.experiment.fit`).

    Returns
    -------
    history : dict
        As `nengo_lmu.tasks.experiment.fit` returns it.
    """
    s = chip_settings(**settings)
    return fit(
        net,
        train_data,
        epochs=s["epochs"],
        learning_rate=s["learning_rate"],
        batch_size=s["batch_size"],
        unroll=s["unroll"],
        fixed=["kernel"],
        verbose=2,
        progress_bar=False,
    )


def adjust_to_backend(
    trained, net, train_data, backend, correct=None, refit=None, refit_l2=None
):
    """Adjust ``net`` (a spiking twin of ``trained``) to what ``backend``
    makes of it, on the first training sequences: the hidden units' reading
    of the memory corrected on ``correct`` of them
    (`nengo_lmu.tasks.experiment.correct_memory_reading`), then the readout
    refitted on ``refit`` (`nengo_lmu.tasks.experiment.refit_readout`).
    Defaults from `CHIP_SETTINGS`; 0 skips a step.

    Parameters
    ----------
    trained : nengo.Network
        The trained rate network (`chip_psmnist_network`, ``target="nengo"``).
    net : nengo.Network
        Its spiking twin for ``backend``, changed in place.
    train_data : tuple of array_like
        Training ``(x, y)`` as `nengo_lmu.tasks.psmnist.psmnist` gives them.
    backend : "nengo", "dl" or "loihi"
        What runs ``net``; ``trained`` runs in NengoDL.
    correct, refit : int, optional
        Training sequences for each step.
    refit_l2 : float, optional
        The refit's pull toward the trained readout.

    Returns
    -------
    report : str
        What was done and what it measured, for a printout.
    """
    s = CHIP_SETTINGS
    correct = s["correct"] if correct is None else correct
    refit = s["refit"] if refit is None else refit
    refit_l2 = s["refit_l2"] if refit_l2 is None else refit_l2
    batch = 50 if backend == "loihi" else 100
    x, y = train_data
    done = []
    if correct:
        before, after = correct_memory_reading(
            trained, net, x[:correct], backend=backend, batch_size=batch
        )
        done.append(
            f"memory reading corrected on {correct} training sequences (NRMSE "
            f"against the rate memory {before:.3f} -> {after:.3f})"
        )
    if refit:
        before, after = refit_readout(
            net, x[:refit], y[:refit], backend=backend, l2=refit_l2, batch_size=batch
        )
        done.append(
            f"readout refitted on {refit} training sequences (their accuracy "
            f"{before:.3f} -> {after:.3f})"
        )
    return ", ".join(done) or "as trained"
