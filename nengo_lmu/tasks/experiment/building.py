"""Building sequence networks: an input Node, a model, a readout, a probe;
and an LMU that runs on Loihi."""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_choice, check_count, check_positive_finite
from nengo_lmu.networks import LMU


def glorot_uniform(size_out, size_in, seed=0):
    """A ``(size_out, size_in)`` weight drawn uniformly from ``+-sqrt(6 /
    (size_in + size_out))`` (Glorot and Bengio, 2010; Keras's default
    ``Dense`` kernel, transposed), with ``numpy.random.RandomState(seed)``.

    Examples
    --------
    >>> w = glorot_uniform(10, 32, seed=0)
    >>> w.shape, bool(abs(w).max() <= np.sqrt(6 / 42))
    ((10, 32), True)
    """
    size_out = check_count(size_out, "size_out")
    size_in = check_count(size_in, "size_in")
    limit = np.sqrt(6 / (size_in + size_out))
    return np.random.RandomState(seed).uniform(-limit, limit, size=(size_out, size_in))


def sequence_network(
    model,
    size_out=None,
    readout="glorot",
    bias=True,
    seed=0,
    label=None,
    input_label="input",
    output_label="output",
):
    """A sequence network: an input Node into ``model``, a readout, a probe.

    Parameters
    ----------
    model : nengo.Network
        Anything with ``input`` and ``output`` objects: an `~nengo_lmu.LMU`, a
        network imported from Keras, ... It is added to the new network (so it
        must not be inside another one: create it outside any ``with`` block
        or with ``add_to_container=False``).
    size_out : int, optional
        Readout dimensions (required unless ``readout`` is None).
    readout : "glorot", "zeros", array_like, nengo.dists.Distribution or None
        The readout's initial weight from ``model.output``: `glorot_uniform`
        with ``seed`` (default), zeros, or a transform as Nengo takes it. None
        puts the probe on ``model.output`` itself (no readout).
    bias : bool, optional
        Add a constant input to the readout through a zero weight (a bias for
        training). Only with a readout.
    seed : int or None, optional
        Seed of the network (and of the Glorot draw).
    label, input_label, output_label : str, optional
        Labels of the network, the input Node and the readout Node.

    Returns
    -------
    net : nengo.Network
        With attributes ``stim`` (the input Node, zeros until given data),
        ``model`` (and ``lmu`` when ``model`` is an LMU), ``input_conn`` (from
        ``stim`` into the model), ``output`` (the readout Node, or
        ``model.output``), ``probe`` (on ``output``, no synapse) and, with a
        readout, ``readout_conn`` (``model.output`` to ``output``) and
        ``bias_conn`` (the bias's connection, where ``bias``; else None).

    Examples
    --------
    >>> from nengo_lmu import LMU
    >>> lmu = LMU(1, 1, 8, 0.1, hidden_units=16, add_to_container=False)
    >>> net = sequence_network(lmu, size_out=10)
    >>> net.probe.size_in, net.lmu is lmu
    (10, True)
    """
    for name in ("input", "output"):
        if not hasattr(model, name):
            raise ValidationError(
                f"must have an '{name}' (a Node or Ensemble): an LMU or a "
                f"network built like one; got {type(model).__name__}",
                attr="model",
            )
    if readout is not None:
        size_out = check_count(size_out, "size_out")
        size_in = model.output.size_out
        if isinstance(readout, str):
            check_choice(readout, ("glorot", "zeros"), "readout")
            readout = (
                glorot_uniform(size_out, size_in, seed=seed)
                if readout == "glorot"
                else np.zeros((size_out, size_in))
            )
    with nengo.Network(seed=seed, label=label) as net:
        net.stim = nengo.Node(np.zeros(model.input.size_in), label=input_label)
        net.add(model)
        net.model = model
        if isinstance(model, LMU):
            net.lmu = model
        net.input_conn = nengo.Connection(net.stim, model.input, synapse=None)
        net.readout_conn = net.bias_conn = None
        if readout is None:
            net.output = model.output
        else:
            net.output = nengo.Node(size_in=size_out, label=output_label)
            net.readout_conn = nengo.Connection(
                model.output, net.output, synapse=None, transform=readout
            )
            if bias:
                one = nengo.Node(np.ones(1), label="one")
                net.bias_conn = nengo.Connection(
                    one, net.output, transform=np.zeros((size_out, 1)), synapse=None
                )
        net.probe = nengo.Probe(net.output, synapse=None)
    return net


def chip_lmu(
    theta,
    order,
    hidden_units,
    memory_neurons_per_dimension=None,
    target="nengo",
    tau=0.1,
    delay_steps=None,
    output_synapse=0.005,
    size_in=1,
    seed=0,
    dt=0.001,
    **memory,
):
    """An LMU that runs on Loihi after `~nengo_lmu.spiking.to_spiking`.

    Trained with rate neurons whose spiking twins the chip runs: rectified-linear
    hidden units reading the memory and the input (no hidden recurrence, no
    Node in any loop), the memory's input weight starting at 1, and a memory
    that is exact (a Node, for comparison) or neural, with rectified-linear
    rate neurons and the settings of `nengo_lmu.loihi.lmu_kwargs`.

    A neural memory's recurrence is mapped onto the filter of the simulator
    that will run it: ``target="nengo"`` (Nengo and NengoDL) onto
    ``Lowpass(tau)``, ``target="loihi"`` onto the chip's loop
    (`nengo_lmu.loihi.loop_synapse`). Both represent the same Legendre memory,
    so weights trained on the first carry over to the second
    (`copy_trained`).

    Parameters
    ----------
    theta : float
        Window length in seconds.
    order : int
        Legendre coefficients.
    hidden_units : int
        Rectified-linear hidden units.
    memory_neurons_per_dimension : int, optional
        Neurons per memory dimension; None (default) gives the exact memory.
    target : "nengo" or "loihi"
        Which simulator's filter the neural memory's recurrence is mapped for.
    tau : float, optional
        The neural memory's recurrent Lowpass time constant (default 0.1 s,
        `nengo_lmu.loihi.memory_kwargs`'s; 0.02 s for a short window of white
        input such as psMNIST's pixels, see the guide).
    delay_steps : int, optional
        The chip loop's extra delay (``target="loihi"`` only); default: the
        delay that goes with ``tau`` (`nengo_lmu.loihi.memory_kwargs`).
    output_synapse : float or nengo.synapses.Synapse, optional
        Synapse from the hidden units to ``output``, in place during training
        so that training learns its lag.
    size_in : int, optional
        Input dimensions.
    seed : int, optional
        The LMU's seed.
    dt : float, optional
        Simulator time step.
    **memory
        Further neural-memory settings for `nengo_lmu.loihi.memory_kwargs`
        (``input_rms``, ``input_high``, ``max_rates``,
        ``ensemble_dimensions``, ...).

    Returns
    -------
    lmu : nengo_lmu.LMU
        Not inside any network (for `sequence_network`).

    Examples
    --------
    >>> lmu = chip_lmu(0.1, 6, 32, memory_neurons_per_dimension=50, tau=0.02)
    >>> net = sequence_network(lmu, size_out=10)
    """
    check_choice(target, ("nengo", "loihi"), "target")
    kwargs = {}
    if memory_neurons_per_dimension is not None:
        from nengo_lmu import loihi  # pylint: disable=import-outside-toplevel

        tau = check_positive_finite(tau, "tau")
        if target == "loihi":
            if delay_steps is not None:
                memory["delay_steps"] = delay_steps
        else:
            memory["mapping_synapse"] = nengo.Lowpass(tau)
        kwargs = loihi.lmu_kwargs(
            theta,
            order,
            neurons_per_dimension=memory_neurons_per_dimension,
            neuron_type=nengo.RectifiedLinear(),
            tau=tau,
            dt=dt,
            **memory,
        )
    elif memory:
        raise ValidationError(
            f"neural-memory settings {sorted(memory)} need "
            "memory_neurons_per_dimension (None is the exact memory)",
            attr="memory_neurons_per_dimension",
        )
    return LMU(
        size_in,
        1,
        order,
        theta,
        hidden_units=hidden_units,
        hidden_neuron_type=nengo.RectifiedLinear(),
        hidden_recurrent=False,
        input_to_hidden=True,
        output_synapse=output_synapse,
        kernel_initializer=np.ones((size_in, 1)),
        dt=dt,
        seed=seed,
        add_to_container=False,
        **kwargs,
    )
