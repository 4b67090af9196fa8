"""Keras activations and the Nengo neuron types with the same rate function.

One table, `ACTIVATIONS`, read in both directions: `activation_neuron_type`
(Keras to Nengo: the importers, `ParallelLMU` loading back) and
`neuron_activation` (Nengo to Keras: `to_keras`, `ParallelLMU`). A neuron
type has a Keras activation only when it equals the table's neuron type,
parameters included: ``nengo.Tanh(tau_ref=0.5)`` computes ``2 tanh(J)``,
not ``tanh(J)``.
"""

import nengo
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_choice

__all__ = ["ACTIVATIONS", "activation_neuron_type", "neuron_activation"]

#: Keras activations and the Nengo neuron types with the same rate function
ACTIVATIONS = {
    "tanh": lambda: nengo.Tanh(tau_ref=1),
    "relu": lambda: nengo.RectifiedLinear(),
    "sigmoid": lambda: nengo.Sigmoid(tau_ref=1),
}


def activation_neuron_type(name, attr, where="", also=""):
    """The Nengo neuron type with the rate function of Keras activation ``name``.

    Parameters
    ----------
    name : str
        A key of `ACTIVATIONS`.
    attr : str
        The parameter named by the ValidationError raised for another name.
    where, also : str
        Text starting and ending that error's message.

    Returns
    -------
    neuron_type : nengo.neurons.NeuronType
        A new instance.

    Examples
    --------
    >>> activation_neuron_type("tanh", "activation")
    Tanh(tau_ref=1)
    """
    try:
        check_choice(
            name, ACTIVATIONS, attr, what="has no Nengo neuron type here; supported:"
        )
    except ValidationError as err:
        raise ValidationError(f"{where}{err.args[0]}{also}", attr=attr) from None
    return ACTIVATIONS[name]()


def neuron_activation(neuron_type, attr, obj=None):
    """The Keras activation computing ``neuron_type``'s rate function.

    Parameters
    ----------
    neuron_type : nengo.neurons.NeuronType
        Equal (type and parameters) to one of `ACTIVATIONS`' neuron types.
    attr : str
        The parameter named by the ValidationError raised otherwise.
    obj : object, optional
        The object holding that parameter.

    Returns
    -------
    name : str
        A key of `ACTIVATIONS`.

    Examples
    --------
    >>> neuron_activation(nengo.RectifiedLinear(), "hidden_neuron_type")
    'relu'
    """
    for name, make in ACTIVATIONS.items():
        if make() == neuron_type:
            return name
    supported = ", ".join(repr(make()) for make in ACTIVATIONS.values())
    raise ValidationError(
        f"{neuron_type!r} has no Keras activation; supported (parameters "
        f"included): {supported}",
        attr=attr,
        obj=obj,
    )
