import subprocess
import sys


def test_import_is_light():
    """``import nengo_lmu`` pulls in none of TensorFlow, NengoDL, NengoLoihi."""
    code = (
        "import sys, nengo_lmu\n"
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
