"""Linear systems other than the delay in spiking neurons, and nonlinear readouts.

1. A 4th-order Butterworth low-pass filter (2 Hz cutoff, from scipy) built as a
   `nengo_lmu.LinearNetwork` in spiking neurons (200 per state dimension,
   Lowpass(0.05) recurrent synapse), driven by 5 Hz white noise, against the
   exact filter (scipy.signal.lsim).
2. Nonlinear functions of the LMU memory's window decoded from spiking
   neurons (`LMUMemory.add_output`), against the function of the true window
   of the known input.

    python examples/linear_network.py [--quick]

Prints the NRMSE of each (normalised by the reference's RMS for the filter,
by its standard deviation for the window functions).
"""

import argparse

import nengo
import numpy as np
import scipy.signal

from nengo_lmu import LinearNetwork, LinearSystem, LMUMemory

DT = 0.001


def butterworth_nrmse(duration, neurons_per_dimension=200, seed=0):
    zpk = scipy.signal.butter(4, 2 * np.pi * 2.0, analog=True, output="zpk")
    system = LinearSystem(*scipy.signal.zpk2ss(*zpk))
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(
            nengo.processes.WhiteSignal(duration, high=5, rms=0.3, y0=0, seed=1)
        )
        lowpass = LinearNetwork(
            system,
            neurons_per_dimension=neurons_per_dimension,
            synapse=nengo.Lowpass(0.05),
            neuron_type=nengo.SpikingRectifiedLinear(),
            max_rates=nengo.dists.Uniform(100, 120),
            input_rms=0.3,
            input_high=5,
        )
        nengo.Connection(stim, lowpass.input, synapse=None)
        p_y = nengo.Probe(lowpass.output, synapse=0.01)
        p_u = nengo.Probe(stim, synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(duration)
    u = sim.data[p_u][:, 0]
    _, exact, _ = scipy.signal.lsim(system.ss, u, np.arange(len(u)) * DT, interp=False)
    exact = nengo.Lowpass(0.01).filt(exact, dt=DT, y0=0)
    y = sim.data[p_y][:, 0]
    return np.sqrt(np.mean((y - exact) ** 2)) / np.sqrt(np.mean(exact**2))


FUNCTIONS = {
    "mean of u^2 over the window": lambda w: np.mean(w**2),
    "|u(t - theta)|": lambda w: abs(w[-1]),
    "u(t) u(t - theta)": lambda w: w[0] * w[-1],
}


def window_function_nrmse(duration, seed=5, theta=1.0, n_points=100):
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(
            nengo.processes.WhiteSignal(duration, high=1, rms=0.3, y0=0, seed=seed)
        )
        memory = LMUMemory(
            theta,
            6,
            neurons_per_dimension=100,
            neuron_type=nengo.SpikingRectifiedLinear(),
            max_rates=nengo.dists.Uniform(100, 120),
            input_rms=0.3,
            input_high=1.0,
        )
        nengo.Connection(stim, memory.input, synapse=None)
        probes = {
            k: nengo.Probe(memory.add_output(f, n_points=n_points), synapse=0.01)
            for k, f in FUNCTIONS.items()
        }
        p_u = nengo.Probe(stim, synapse=None)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(duration)
    u = sim.data[p_u][:, 0]
    # the true window of the known input, u(t) to u(t - theta)
    shifts = np.round(np.linspace(0, theta, n_points) / DT).astype(int)
    pad = np.concatenate([np.zeros(shifts.max()), u])
    windows = np.stack(
        [pad[shifts.max() - s : shifts.max() - s + len(u)] for s in shifts], axis=1
    )
    skip = int(round(theta / DT))  # from the first full window on
    errors = {}
    for k, f in FUNCTIONS.items():
        ref = np.array([f(w) for w in windows])
        ref = nengo.Lowpass(0.01).filt(ref, dt=DT, y0=0)[skip:]
        y = sim.data[probes[k]][skip:, 0]
        errors[k] = np.sqrt(np.mean((y - ref) ** 2)) / np.std(ref)
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    args = parser.parse_args()
    duration = 3.0 if args.quick else 10.0
    print(
        f"Butterworth low-pass in spiking neurons: NRMSE "
        f"{butterworth_nrmse(duration):.3f} ({duration:g} s)"
    )
    for name, err in window_function_nrmse(duration).items():
        print(f"window function {name}: NRMSE {err:.3f}")


if __name__ == "__main__":
    main()
