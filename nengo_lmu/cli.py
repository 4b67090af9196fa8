"""The ``nengo-lmu`` command (also ``python -m nengo_lmu``)."""

import argparse
import importlib
import sys

import numpy as np


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def delay_errors(theta, order, dt, duration, high, rms, seed, delays):
    """NRMSE of each delay decoded from the exact discrete LegendreDelay."""
    import nengo

    from nengo_lmu.basis import delay_readout
    from nengo_lmu.systems import LegendreDelay

    steps = int(round(duration / dt))
    u = nengo.processes.WhiteSignal(
        period=duration, high=high, rms=rms, y0=0, seed=seed
    ).run_steps(steps, dt=dt)[:, 0]
    system = LegendreDelay(theta, order).discretize(dt)
    _, x = system.simulate(u, return_states=True)
    # the state after the update with u[k] is dlsim's x[k + 1]
    m = np.vstack([x[1:], system.A @ x[-1] + system.B[:, 0] * u[-1]])
    errors = {}
    for r in delays:
        shift = int(round(r * theta / dt))
        ideal = np.concatenate([np.zeros(shift), u[: steps - shift]])
        decoded = m @ delay_readout(order, r)[0]
        errors[r] = np.sqrt(np.mean((decoded - ideal) ** 2)) / np.sqrt(np.mean(u**2))
    return errors


def cmd_delay(args):
    delays = [0.0, 0.25, 0.5, 1.0]
    errors = delay_errors(
        args.theta, args.order, args.dt, args.duration, 1.0, 0.3, args.seed, delays
    )
    print(
        f"LegendreDelay(theta={args.theta:g}, order={args.order}) discretized with "
        f"a zero-order hold at dt={args.dt:g}; input: {args.duration:g} s of 1 Hz "
        "white noise (rms 0.3)"
    )
    print("delay (s)   NRMSE (exact system)")
    for r, err in errors.items():
        print(f"{r * args.theta:9.3f}   {err:.4f}")
    return 0


def cmd_info(args):
    import nengo_lmu

    print(f"nengo-lmu {nengo_lmu.__version__}, Python {sys.version.split()[0]}")
    for name in ["numpy", "scipy", "nengo", "nengo_dl", "tensorflow", "nengo_loihi",
                 "keras_lmu", "mlxtend", "matplotlib"]:
        try:
            module = importlib.import_module(name)
            print(f"  {name:12s} {getattr(module, '__version__', 'installed')}")
        except Exception as err:  # report any import failure, never crash
            print(f"  {name:12s} not importable ({type(err).__name__}: {err})")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="nengo-lmu",
        description="Legendre Memory Units as Nengo networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    delay = sub.add_parser(
        "delay", help="delay a white-noise signal with an LMU memory and report errors"
    )
    delay.add_argument("--theta", type=_positive_float, default=1.0,
                       help="window length in seconds (default 1.0)")
    delay.add_argument("--order", type=_positive_int, default=6,
                       help="number of Legendre coefficients (default 6)")
    delay.add_argument("--dt", type=_positive_float, default=0.001,
                       help="time step in seconds (default 0.001)")
    delay.add_argument("--duration", type=_positive_float, default=20.0,
                       help="seconds of input (default 20)")
    delay.add_argument("--seed", type=int, default=0, help="input seed (default 0)")
    delay.set_defaults(func=cmd_delay)

    info = sub.add_parser("info", help="versions of the stack and importable backends")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (2 for bad options)."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
