"""Spiking tanh: each ``nengo.Tanh`` unit as a pair of LIF neurons."""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.spiking.rewrite import (
    base_object,
    dense_matrix,
    is_neurons_of,
    put_in_place,
    replace_references,
)

#: ``1 / tau_ref``), so the difference passes smoothly through zero. The gain
#: and bias are the least-squares fit of that output to ``tanh`` over ``x``
#: in [-6, 6] weighted by a normal density of standard deviation 1.5 (RMS
#: error 0.038; largest error 0.10 for ``|x| <= 4``; 11% relative error for
#: ``|x| < 0.5``). A pair whose halves are silent at rest fits large ``x``
#: about as well (RMS 0.037) but has a dead zone around zero where the output
#: is 0 (measured to lose 28% of a small-input LMU's hidden signal).
TANH_PAIR_GAIN = 6.46666
TANH_PAIR_BIAS = 5.64150
TANH_PAIR_AMPLITUDE = 0.145230
TANH_PAIR_REF_RATIO = 0.1


def tanh_pair_neuron(max_rate=500.0, tau_ref=1.0):
    """The spiking neuron of each half of a tanh pair.

    A ``nengo.LIF`` with ``tau_ref = 1 / max_rate`` (the rate it saturates
    at), ``tau_rc = 10 tau_ref``, ``min_voltage=0`` and an amplitude such that
    the pair's output ``on - off`` approximates ``tanh(x) / tau_ref`` (the rate
    of ``nengo.Tanh(tau_ref)``) when its two neurons get the currents
    ``TANH_PAIR_GAIN * (+-x) + TANH_PAIR_BIAS``. LIF runs on Loihi; the default
    500 Hz stays below one spike per millisecond step.

    Parameters
    ----------
    max_rate : float
        Saturation rate in Hz (each neuron fires at ``0.34 max_rate`` at
        rest and below ``0.82 max_rate`` for ``|x| <= 6``).
    tau_ref : float
        The ``tau_ref`` of the ``nengo.Tanh`` being replaced (1 in the LMU).

    Returns
    -------
    neuron_type : nengo.LIF

    Examples
    --------
    >>> lif = tanh_pair_neuron(500.0)
    >>> x = np.array([0.5])
    >>> j = TANH_PAIR_GAIN * np.array([x, -x]).ravel() + TANH_PAIR_BIAS
    >>> on, off = lif.rates(j, 1.0, 0.0).ravel() * lif.amplitude
    >>> abs(on - off - np.tanh(0.5)) < 0.05
    True
    """
    max_rate = check_positive_finite(max_rate, "max_rate")
    ref = 1.0 / max_rate
    tau_rc = ref / TANH_PAIR_REF_RATIO
    return nengo.LIF(
        tau_rc=tau_rc,
        tau_ref=ref,
        min_voltage=0,
        amplitude=TANH_PAIR_AMPLITUDE * tau_rc / tau_ref,
        initial_state={"voltage": nengo.dists.Choice([0])},
    )


def check_tanh_ensemble(network, ens):
    """Refuse a tanh ensemble that `tanh_pair` cannot rebuild exactly."""
    for attr in ("gain", "bias"):
        if not isinstance(getattr(ens, attr), np.ndarray):
            raise ValidationError(
                f"{ens} needs explicit {attr}s (an array) to become tanh pairs",
                attr=attr,
                obj=ens,
            )
    for conn in network.all_connections:
        for end in (conn.pre, conn.post):
            if end is ens or (
                isinstance(end, nengo.base.ObjView) and base_object(end) is ens
            ):
                raise ValidationError(
                    f"{conn} connects to the tanh ensemble {ens} other than "
                    "through its whole .neurons; only such connections can be "
                    "turned into tanh pairs",
                    attr="network",
                    obj=conn,
                )
        if is_neurons_of(conn.pre, ens) or is_neurons_of(conn.post, ens):
            if conn.learning_rule_type is not None:
                raise ValidationError(
                    f"{conn} has a learning rule; tanh pairs cannot keep it",
                    attr="network",
                    obj=conn,
                )
            dense_matrix(conn)  # raises for transforms that cannot be doubled


def tanh_pair(network, ens, max_rate):
    """Replace the tanh ensemble ``ens`` (inside ``network``) by its pairs."""
    n = ens.n_neurons
    gain, bias = np.asarray(ens.gain, float), np.asarray(ens.bias, float)
    neuron_type = tanh_pair_neuron(max_rate, tau_ref=ens.neuron_type.tau_ref)
    networks = [network] + list(network.all_networks)
    home = next(net for net in networks if ens in net.ensembles)
    with home:
        pair = nengo.Ensemble(
            2 * n,
            1,
            neuron_type=neuron_type,
            gain=TANH_PAIR_GAIN * np.concatenate([gain, gain]),
            bias=TANH_PAIR_GAIN * np.concatenate([bias, -bias]) + TANH_PAIR_BIAS,
            label=ens.label,
            seed=ens.seed,
        )
    put_in_place(home.ensembles, ens, pair)
    replaced = {ens: pair}
    sign = np.array([1.0] * n + [-1.0] * n)
    for net in networks:
        for conn in list(net.connections):
            pre_old = is_neurons_of(conn.pre, ens)
            post_old = is_neurons_of(conn.post, ens)
            if not (pre_old or post_old):
                continue
            matrix = dense_matrix(conn)
            if post_old:  # the off neurons get -x
                matrix = sign[:, None] * np.vstack([matrix, matrix])
            if pre_old:  # the off neurons' output counts negatively
                matrix = np.hstack([matrix, matrix]) * sign[None, :]
            with net:
                new = nengo.Connection(
                    pair.neurons if pre_old else conn.pre,
                    pair.neurons if post_old else conn.post,
                    transform=matrix,
                    synapse=conn.synapse,
                    label=conn.label,
                    seed=conn.seed,
                )
            put_in_place(net.connections, conn, new)
            replaced[conn] = new
        for probe in list(net.probes):
            if is_neurons_of(probe.target, ens):
                with net:
                    new = nengo.Probe(
                        pair.neurons,
                        attr=probe.attr,
                        sample_every=probe.sample_every,
                        synapse=probe.synapse,
                        label=probe.label,
                    )
                put_in_place(net.probes, probe, new)
                replaced[probe] = new
    for net in networks:
        replace_references(net, replaced)
    return pair
