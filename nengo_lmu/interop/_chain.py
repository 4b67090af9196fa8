"""What the Keras and the paper-file importers share: Dense layers (their
activations from `nengo_lmu.interop.activations`), and building a checked chain
of layer specifications.

Both importers first turn their source into a list of layer specifications,
checking everything, and only then build Nengo objects (`build_chain`), so
that an unsupported or broken model leaves nothing half-built behind.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu.interop.activations import ACTIVATIONS, activation_neuron_type
from nengo_lmu.networks.lmu import LMU

#: Activations of a model's last Dense layer that are left out of the Nengo
#: network: its ``output`` is then their input, the logits
OUTPUT_ACTIVATIONS = ("softmax",)

#: Layers that do nothing at inference
NO_OP_LAYERS = ("Dropout",)


def dense_spec(name, kernel, bias, activation, last, attr):
    """A Dense layer's specification, or a ValidationError naming ``attr``."""
    kernel = np.asarray(kernel, dtype=float)
    units = kernel.shape[1]
    bias = np.zeros(units) if bias is None else np.asarray(bias, dtype=float)
    if activation in (None, "linear"):
        activation = None
    elif activation in OUTPUT_ACTIVATIONS:
        if not last:
            raise ValidationError(
                f"Dense layer {name!r}: activation {activation!r} is supported only "
                "on the last layer (the network outputs its input, the logits)",
                attr=attr,
            )
    else:
        activation_neuron_type(
            activation,
            attr,
            f"Dense layer {name!r}: activation ",
            also=f"; also linear, and {', '.join(OUTPUT_ACTIVATIONS)} on the last "
            "layer",
        )
    if not (np.all(np.isfinite(kernel)) and np.all(np.isfinite(bias))):
        raise ValidationError(
            f"Dense layer {name!r}: weights must be finite", attr=attr
        )
    return {
        "kind": "dense",
        "name": name,
        "kernel": kernel,
        "bias": bias,
        "activation": activation,
    }


def build_chain(specs, size_in, label, seed, add_to_container):
    """A Network running the specified layers one after the other."""
    net = nengo.Network(label=label, seed=seed, add_to_container=False)
    net.layers = []
    net.lmus = []
    net.output_activation = None
    with net:
        net.input = nengo.Node(size_in=size_in, label="input")
        previous, bias_node = net.input, None
        for spec in specs:
            if spec["kind"] == "lmu":
                lmu = LMU(label=spec["name"], **spec["params"])
                nengo.Connection(previous, lmu.input, synapse=None)
                net.layers.append(lmu)
                net.lmus.append(lmu)
                previous = lmu.output
                continue
            kernel, bias, activation = spec["kernel"], spec["bias"], spec["activation"]
            units = kernel.shape[1]
            out = nengo.Node(size_in=units, label=spec["name"])
            if activation in ACTIVATIONS:
                ens = nengo.Ensemble(
                    units,
                    1,
                    neuron_type=ACTIVATIONS[activation](),
                    gain=np.ones(units),
                    bias=bias,
                    label=spec["name"],
                )
                nengo.Connection(
                    previous, ens.neurons, transform=kernel.T, synapse=None
                )
                nengo.Connection(ens.neurons, out, synapse=None)
                net.layers.append(ens)
            else:
                nengo.Connection(previous, out, transform=kernel.T, synapse=None)
                if np.any(bias != 0):
                    if bias_node is None:
                        bias_node = nengo.Node(np.ones(1), label="bias")
                    nengo.Connection(
                        bias_node, out, transform=bias[:, None], synapse=None
                    )
                net.layers.append(out)
                net.output_activation = activation
            previous = out
        net.output = previous
    if add_to_container is None:
        add_to_container = len(nengo.Network.context) > 0
    if add_to_container:
        nengo.Network.add(net)
    return net


RETURNS_DOC = """
    Returns
    -------
    net : nengo.Network
        With these attributes:

        ``input`` : nengo.Node
            ``x_t``, the model's input at each step (connect a Node to it).
        ``output`` : nengo.Node
            The last layer's output at each step. When that layer is a Dense
            layer with a softmax activation, ``output`` is the softmax's input,
            the logits (softmax is no neuron type; the largest logit is the
            class softmax would pick). Where Keras returns only the last step
            (``return_sequences=False``), the model's output is ``output`` at
            the last step.
        ``output_activation`` : str or None
            ``"softmax"`` when it was left out of ``output``, else None.
        ``layers`` : list
            Per layer (Dropout excluded): the `~nengo_lmu.LMU` network; for
            a Dense layer, the Ensemble (tanh, relu, sigmoid activations, use
            ``.neurons``) or the Node holding its linear output.
        ``lmus`` : list of LMU
            The LMU networks among them.
        ``sequence_length`` : int or None
            The model's fixed number of steps per sequence, None if it takes
            any length (or does not say).
"""
