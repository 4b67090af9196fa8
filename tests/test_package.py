import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["nengo_lmu", "nengo_lmu.spiking", "nengo_lmu.loihi", "nengo_lmu.interop"]
)
def test_import_is_light(module):
    """``import nengo_lmu`` pulls in none of TensorFlow, NengoDL, NengoLoihi; nor
    do the spiking conversion and the Loihi mapping, which a chip user needs
    without NengoDL, nor the Keras side until a Keras function is called."""
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'nengo_dl', 'nengo_loihi', 'keras', 'keras_lmu')]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_public_api():
    import nengo_lmu

    for name in [
        "LinearSystem",
        "LinearNetwork",
        "LMUMemory",
        "LegendreDelay",
        "PadeDelay",
        "ss2sim",
        "delay_readout",
        "window_readout",
        "balanced_realization",
        "scaled_realization",
        "__version__",
    ]:
        assert hasattr(nengo_lmu, name), name
