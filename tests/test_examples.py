"""Every example runs, in its quick mode, and does what it says: the figure
it prints meets a bound set from a measurement of that quick run."""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
NUMBER = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def figures(stdout, pattern):
    """Every match of ``pattern`` (NUMBER marks the figures) as floats."""
    found = re.findall(pattern.replace("NUMBER", NUMBER), stdout)
    assert found, f"no line matching {pattern!r} in:\n{stdout}"
    return [
        tuple(map(float, m)) if isinstance(m, tuple) else (float(m),) for m in found
    ]


def check_keras_import(out):
    # measured 1e-05 (float32 Keras against float64 Nengo); the example
    # itself fails above 1e-3
    ((worst,),) = figures(out, r"max \|logit difference\| over \d+ digits: NUMBER")
    assert worst < 1e-4
    labels = re.findall(r"Keras says (\d+), Nengo says (\d+)", out)
    assert len(labels) == 5 and all(k == n for k, n in labels)


def check_linear_network(out):
    # NRMSE 1 is an output of zero; measured 0.064 (Butterworth) and 0.162,
    # 0.197, 0.116 (the three window functions), 3 s runs
    ((butterworth,),) = figures(out, r"Butterworth low-pass .*: NRMSE NUMBER")
    assert butterworth < 0.15
    windows = figures(out, r"window function .*: NRMSE NUMBER")
    assert len(windows) == 3 and all(err < 0.35 for (err,) in windows)


def check_loihi_memory(out):
    # measured 0.122 for the 5 s run (the mapped memory on the emulator)
    ((nrmse,),) = figures(out, r"delay NRMSE = NUMBER")
    assert nrmse < 0.25


def check_mackey_glass(out):
    # measured LMU 1.031 against 1.612 for predicting no change (the quick
    # run trains 5 epochs on 32 short series): it must beat that baseline
    ((lmu, baseline),) = figures(out, r"LMU NUMBER, no-change baseline NUMBER")
    assert lmu < 0.85 * baseline


def check_nir_export(out):
    # measured Nengo 0.1112, from the NIR file 0.1153 (3 s, 6 x 50 CubaLIF
    # neurons): the file runs as Nengo did (its input a step earlier)
    ((nengo, from_file),) = figures(
        out, r"NRMSE of u\(t - theta\): Nengo NUMBER, from the NIR file NUMBER"
    )
    assert from_file < 0.2 and abs(from_file - nengo) < 0.02


def check_pes_delay(out):
    # measured 0.134 after 20 s of learning (0.077 after 60 s); with no
    # learning the decoders stay at zero and the NRMSE is about 1 (see
    # test_pes_learns_a_delay)
    ((nrmse,),) = figures(out, r"measured with learning off: NUMBER")
    assert nrmse < 0.2


def check_psmnist(out):
    # measured rate 0.110, spiking 0.070: the quick run (300 digits of 98
    # steps, one epoch) is at chance for 10 classes, so only the range is
    # checked here; the full run's accuracy is benchmark B1's
    ((rate, spiking),) = figures(out, r"test accuracy: rate NUMBER, spiking NUMBER")
    assert 0 <= rate <= 1 and 0 <= spiking <= 1


def check_spiking_delay(out):
    # measured spiking 0.039, 0.039, 0.025 and exact 0.0163, 0.0163, 0.0125
    # for delays of 0.25, 0.5 and 1 theta (5 s runs)
    rows = figures(out, r"delay NUMBER theta: NRMSE spiking NUMBER, exact NUMBER")
    assert [r for r, _, _ in rows] == [0.25, 0.5, 1.0]
    for _, spiking, exact in rows:
        assert spiking < 0.08 and exact < 0.03


def check_training_to_loihi(out):
    # measured rate 0.130, spiking 0.170, emulator 0.300 (10 digits): the
    # quick run (200 digits, 2 epochs) is near chance for 10 classes, so
    # only the range is checked here, as for psmnist
    ((rate, spiking, chip),) = figures(
        out,
        r"rate NUMBER, spiking \(NengoDL\) NUMBER; on the Loihi emulator "
        r"\(\d+ digits\) NUMBER",
    )
    assert 0 <= rate <= 1 and 0 <= spiking <= 1 and 0 <= chip <= 1


CHECKS = {
    name[len("check_") :]: check
    for name, check in globals().items()
    if name.startswith("check_")
}


def test_every_example_has_a_check():
    assert sorted(CHECKS) == sorted(p.stem for p in EXAMPLES.glob("*.py"))


def test_pes_learns_a_delay():
    """Without learning, the delay is not there (the quick run, checked in
    check_pes_delay, shows it learnt)."""
    pes = load("pes_delay")
    assert pes.run(learn_time=0.5, test_time=5.0) > 0.6


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.py")))
def test_example_runs_quick(name):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    CHECKS[name](out.stdout)
