"""Readouts of `.LinearNetwork`: nonlinear functions of its state, computed
by a Node (exact realisation) or decoded from neurons (neural realisation).
`.LinearNetwork.add_output` is the way in.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_count, check_state_function
from nengo_lmu.networks.defaults import (
    DEFAULT_SOLVER,
    READOUT_INTERCEPTS,
    READOUT_NEURONS_PER_DIMENSION,
)


def add_output(
    network, function, neurons, synapse, n_eval_points, label, ensemble_kwargs
):
    """`.LinearNetwork.add_output` on ``network`` (see there): checks the
    options, then builds one readout per copy; returns the output Node."""
    n = network.system.state_size
    size_out = check_state_function(function, n, obj=network)
    neural = network.neurons_per_dimension is not None
    if not neural and (neurons is not None or ensemble_kwargs):
        raise ValidationError(
            "readout ensemble options need a neural realisation; got "
            f"{sorted(ensemble_kwargs) or ['neurons']}",
            attr="neurons",
            obj=network,
        )
    if neural:
        neurons = check_count(
            READOUT_NEURONS_PER_DIMENSION * n if neurons is None else neurons,
            "neurons",
            network,
        )
        n_eval_points = check_count(
            max(1000, 200 * n) if n_eval_points is None else n_eval_points,
            "n_eval_points",
            network,
        )
        if synapse is not None and not isinstance(synapse, nengo.synapses.Synapse):
            raise ValidationError(
                f"must be None or a nengo Synapse, got {synapse!r}",
                attr="synapse",
                obj=network,
            )
    with network:
        output = nengo.Node(size_in=network.copies * size_out, label=label)
        for c in range(network.copies):
            out = network._copy(output, c, size_out)
            if not neural:
                node = nengo.Node(
                    lambda t, x: function(x),
                    size_in=n,
                    size_out=size_out,
                    label=f"{label}[{c}]",
                )
                nengo.Connection(network._copy(network.state, c, n), node, synapse=None)
                nengo.Connection(node, out, synapse=None)
                continue
            # in a network of its own: `ensembles` stays the realisation's
            with nengo.Network(label=f"{label}[{c}]"):
                _add_neural_output(
                    network,
                    function,
                    c,
                    out,
                    neurons,
                    synapse,
                    n_eval_points,
                    label,
                    dict(ensemble_kwargs),
                )
    return output


def _add_neural_output(
    network, function, c, out, neurons, synapse, n_eval_points, label, ens_kwargs
):
    """Copy ``c``'s readout in neurons: an ensemble of the whole scaled state,
    decoding ``function`` into ``out`` (see `.LinearNetwork.add_output`)."""
    n = network.system.state_size
    T = network.state_transform
    conn_kwargs = {"solver": ens_kwargs.pop("solver", DEFAULT_SOLVER)}
    options = dict(network._ensemble_options)
    options["intercepts"] = READOUT_INTERCEPTS
    options.update(ens_kwargs)
    rng = np.random.RandomState(0 if network.seed is None else network.seed)
    cov = 0.5 * (network._state_covariance + network._state_covariance.T)
    eval_points = rng.multivariate_normal(np.zeros(n), cov, size=n_eval_points)
    ens = nengo.Ensemble(neurons, n, label=f"{label}[{c}]", **options)
    for pre, block in network._groups[c]:
        nengo.Connection(pre, ens[block], synapse=synapse, **conn_kwargs)
    nengo.Connection(
        ens,
        out,
        function=lambda z: function(T @ z),
        eval_points=eval_points,
        synapse=None,
        **conn_kwargs,
    )
    # a non-finite input makes the readout NaN too, as the state
    nengo.Connection(
        network._copy(network.nonfinite, c, 1),
        out,
        transform=np.zeros((out.size_in, 1)),
        synapse=None,
    )
