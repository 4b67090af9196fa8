"""Guards of `.LinearNetwork`'s neural realisation, checked before anything
is built: the input class and scaling, stability, and size (neurons in all
and the estimated build memory); and `removed_on_failure`, which takes a
refused network out of the network it was added to.

The size limits are module constants here and may be raised.
"""

import functools

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite

#: Nengo's smallest ensemble radius.
MIN_RADIUS = 1e-10
#: The largest factor by which the states may be scaled, either way.
SCALE_LIMIT = 1e100
#: Size guards of the neural realisation, checked before anything is built:
#: neurons in all, and the memory its build needs (`build_bytes`).
MAX_NEURONS = 2_000_000
MAX_BUILD_BYTES = 4 * 2**30


def build_bytes(states, copies, neurons_per_dimension, ensemble_dimensions=1):
    """An estimate of the memory that building the neural realisation needs,
    in bytes: the larger of its two peaks.

    * Constructing it: the states' covariance for the input class
      (`~nengo_lmu.mapping.state_covariance`) holds a complex and a real
      ``states x states`` matrix per frequency (4,000 frequencies).
    * A simulator's build: each pair of ensembles in a copy is connected
      (the balanced realisation's ``Ahat`` is dense), so a copy has
      ``(states / ensemble_dimensions)**2`` recurrent connections, each
      costing about 110 kB in Nengo's objects, signals and operators
      (measured: a neural memory of order 20 and 100 neurons per dimension,
      440 connections, raised the simulator's peak memory by 48 MB), plus
      its decoders and evaluation points.
    """
    k = ensemble_dimensions
    n = neurons_per_dimension * k
    blocks = states // k
    covariance = 4000 * states**2 * (16 + 8)
    connections = copies * (blocks**2 + 2 * blocks)
    eval_points = max(750, 2 * n)
    per_connection = 8 * (n * k + eval_points * k) + 110_000
    solve = 8 * eval_points * n
    ensembles = copies * blocks * 8 * (n * (k + 4) + eval_points * k)
    return max(covariance, connections * per_connection + solve + ensembles)


def removed_on_failure(init):
    """Wrap a Network's ``__init__``: if it raises, the half-built network is
    taken out of the network it was added to (as Nengo's own objects leave
    nothing behind when refused)."""

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except BaseException:
            for parent in list(nengo.Network.context):
                if any(net is self for net in parent.networks):
                    parent.networks.remove(self)
            raise

    return wrapper


def check_neural(network, input_rms, input_high, n_std, ensemble_kwargs):
    """Every check of `.LinearNetwork`'s neural realisation that needs no
    realising: the ensemble options, the input class, stability and size.

    ``network`` has its system, ``dt`` and sizes set; returns the checked
    ``(input_rms, input_high, n_std)``.
    """
    input_rms = check_positive_finite(input_rms, "input_rms", network)
    input_high = check_positive_finite(input_high, "input_high", network)
    n_std = check_positive_finite(n_std, "n_std", network)
    if input_high < np.finfo(float).tiny:
        raise ValidationError(
            f"must be at least {np.finfo(float).tiny:g} Hz (a normal float), "
            f"got {input_high!r}",
            attr="input_high",
            obj=network,
        )
    radius = check_positive_finite(
        ensemble_kwargs.get("radius", 1.0), "radius", network
    )
    if radius < MIN_RADIUS:
        raise ValidationError(
            f"must be at least {MIN_RADIUS:g} (nengo.Ensemble's smallest), "
            f"got {radius!r}",
            attr="radius",
            obj=network,
        )
    # the states are scaled by about (radius / n_std) / input_rms: beyond
    # SCALE_LIMIT either way, the scaling over- or underflows
    given = {"input_rms": input_rms, "n_std": n_std, "radius": radius}
    with np.errstate(all="ignore"):
        ratio = np.float64(input_rms) * n_std / radius
    if not SCALE_LIMIT**-1 <= ratio <= SCALE_LIMIT:
        name = max(given, key=lambda k: abs(np.log10(given[k])))
        raise ValidationError(
            f"is out of range, got {given[name]!r}: the states are scaled by "
            f"radius / (n_std * input_rms) = {radius / n_std / input_rms:.3g}, "
            "which must be "
            f"within [{SCALE_LIMIT**-1:g}, {SCALE_LIMIT:g}] (input_rms="
            f"{input_rms:g}, n_std={n_std:g}, radius={radius:g})",
            attr=name,
            obj=network,
        )
    poles = np.abs(np.linalg.eigvals(network.discrete_system.A))
    if poles.size and not np.all(poles < 1):
        raise ValidationError(
            "a neural realisation scales each state for the input class, "
            "which needs a stable system (every discrete pole |z| < 1); this "
            f"one has a pole with |z| = {poles.max():.6g} at dt={network.dt:g} "
            "(an integrator, or a mode that does not decay), whose state "
            "grows without bound. Realise a stable system (e.g. a leaky "
            "integrator) in neurons, or this one exactly "
            "(neurons_per_dimension=None)",
            attr="system",
            obj=network,
        )
    n_neurons = (
        network.copies * network.system.state_size * network.neurons_per_dimension
    )
    if n_neurons > MAX_NEURONS:
        raise ValidationError(
            f"would give {n_neurons:,} neurons (copies x states x "
            f"neurons_per_dimension), more than the limit of {MAX_NEURONS:,}",
            attr="neurons_per_dimension",
            obj=network,
        )
    need = build_bytes(
        network.system.state_size,
        network.copies,
        network.neurons_per_dimension,
        network.ensemble_dimensions,
    )
    if need > MAX_BUILD_BYTES:
        raise ValidationError(
            f"building it would need about {need / 2**30:.1f} GiB (the "
            f"recurrent connections between {network.system.state_size} states "
            f"in ensembles of {network.ensemble_dimensions} dimension(s), "
            f"{network.neurons_per_dimension} neurons per dimension, "
            f"{network.copies} copies), more than the limit of "
            f"{MAX_BUILD_BYTES / 2**30:g} GiB: use fewer states (a lower order) "
            "or fewer neurons_per_dimension",
            attr="neurons_per_dimension",
            obj=network,
        )
    return input_rms, input_high, n_std
