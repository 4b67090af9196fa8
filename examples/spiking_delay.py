"""A spiking LMU memory delays a signal, in the Nengo reference simulator.

1 Hz white noise goes into an LMUMemory of 6 x 100 spiking rectified-linear
neurons; the delays theta/4, theta/2 and theta are decoded from its state and
compared with the exact (non-neural) memory.

    python examples/spiking_delay.py [--quick]
"""

import argparse

from nengo_lmu.tasks.delay import DELAYS, run_delay


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s instead of 20 s")
    args = parser.parse_args()
    result = run_delay(duration=5.0 if args.quick else 20.0, progress_bar=False)
    for r in DELAYS:
        spiking, exact = result["nrmse"][r]
        print(f"delay {r:.2f} theta: NRMSE spiking {spiking:.3f}, exact {exact:.4f}")


if __name__ == "__main__":
    main()
