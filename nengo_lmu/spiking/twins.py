"""The one table of rate neuron types and their spiking twins.

`to_spiking` swaps each trained rate type for its twin, and
`nengo_lmu.loihi` asks it which spiking type a rate memory will run as on the
chip. NengoDL's ``SoftLIFRate`` is recognised by name, so nothing here
imports NengoDL or TensorFlow.
"""

import nengo
from nengo.exceptions import ValidationError

#: Rate neuron types and their spiking twins (same rate function).
SPIKING_TWINS = {
    nengo.RectifiedLinear: lambda n: nengo.SpikingRectifiedLinear(
        amplitude=n.amplitude, initial_state=n.initial_state
    ),
    nengo.LIFRate: lambda n: nengo.LIF(
        tau_rc=n.tau_rc,
        tau_ref=n.tau_ref,
        amplitude=n.amplitude,
        min_voltage=0,
    ),
}


def spiking_twin(neuron_type):
    """The spiking neuron type with the same rate function as ``neuron_type``.

    A spiking type is returned as it is; NengoDL's ``SoftLIFRate`` becomes
    ``nengo.LIF``. Raises a ValidationError for rate types without a
    one-neuron twin: ``nengo.Sigmoid``, and ``nengo.Tanh``, whose negative half
    no spike can carry (`to_spiking` turns each tanh unit into a pair of LIF
    neurons instead, see `tanh_pair_neuron`).
    """
    if neuron_type.spiking:
        return neuron_type
    for rate_type, make in SPIKING_TWINS.items():
        if type(neuron_type) is rate_type:
            return make(neuron_type)
    if type(neuron_type).__name__ == "SoftLIFRate":
        return nengo.LIF(
            tau_rc=neuron_type.tau_rc,
            tau_ref=neuron_type.tau_ref,
            amplitude=neuron_type.amplitude,
        )
    hint = (
        " (to_spiking turns tanh units into pairs of LIF neurons)"
        if isinstance(neuron_type, nengo.Tanh)
        else ""
    )
    raise ValidationError(
        f"{type(neuron_type).__name__} has no one-neuron spiking twin{hint}; "
        "train with one of nengo.RectifiedLinear, nengo.LIFRate, "
        "nengo_dl.SoftLIFRate or nengo.Tanh",
        attr="neuron_type",
    )
