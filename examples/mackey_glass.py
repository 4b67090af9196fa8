"""Mackey-Glass prediction with an LMU trained in NengoDL.

The LMU reads the chaotic Mackey-Glass series (tau = 17) and predicts it
15 steps ahead; NRMSE on held-out series, next to predicting "no change".

    python examples/mackey_glass.py [--quick]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nengo_lmu.tasks.mackey_glass import (  # noqa: E402
    evaluate_mackey_glass,
    mackey_glass,
    mackey_glass_network,
    train_mackey_glass,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short series, few epochs")
    args = parser.parse_args()
    steps = 400 if args.quick else 2000
    train, test = mackey_glass(
        n_train=32 if args.quick else 128, n_test=16, steps=steps
    )
    net = mackey_glass_network(order=12, theta=0.05, hidden_units=40)
    train_mackey_glass(net, train, epochs=5 if args.quick else 30)
    nrmse, persistence = evaluate_mackey_glass(net, test)
    print(
        f"NRMSE of the 15-step prediction: LMU {nrmse:.3f}, "
        f"no-change baseline {persistence:.3f}"
    )


if __name__ == "__main__":
    main()
