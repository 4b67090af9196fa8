"""A spiking LMU memory exported to NIR and run from the file.

An LMUMemory (theta 1 s, order 6) of `nengo_lmu.nir.CubaLIF` neurons, the
neuron type that steps exactly as NIR consumers step NIR's CubaLIF, delays
1 Hz white noise in Nengo; it is exported with `nengo_lmu.nir.to_nir`,
written with ``nir.write``, read back, and run from the file by the library's
reference NIR simulator. Any NIR consumer (Norse, for instance) can run the
same file.

    python examples/nir_export.py [--quick] [--file memory.nir]
"""

import argparse
import pathlib
import tempfile

import nengo
import nir
import numpy as np

from nengo_lmu import LMUMemory
from nengo_lmu.nir import memory_options, simulate, to_nir

DT = 0.001


def nrmse(y, u, theta):
    k = int(round(theta / DT))
    return float(np.sqrt(np.mean((y[k:] - u[:-k]) ** 2)) / np.std(u))


def run(seconds=5.0, neurons=100, path=None):
    """NRMSE of u(t - theta) in Nengo and from the NIR file."""
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(seconds, high=1, rms=0.3, seed=1))
        memory = LMUMemory(
            1.0, 6, neurons_per_dimension=neurons, seed=2, **memory_options()
        )
        nengo.Connection(stim, memory.input, synapse=None)
        delayed = memory.add_delay_output(1.0)
        p_in = nengo.Probe(stim, synapse=None)
        p_out = nengo.Probe(delayed, synapse=0.01)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run(seconds)
    graph = to_nir(net, dt=DT, outputs=[delayed])
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "memory.nir" if path is None else path
        nir.write(path, graph)
        graph = nir.read(path)
    u = sim.data[p_in]
    y_file = nengo.Lowpass(0.01).filt(simulate(graph, u, dt=DT), dt=DT)
    u_filtered = nengo.Lowpass(0.01).filt(u, dt=DT)
    return {
        "nengo": nrmse(sim.data[p_out], u_filtered, 1.0),
        "nir_file": nrmse(y_file, u_filtered, 1.0),
        "metadata": graph.metadata,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s, 6 x 50 neurons")
    parser.add_argument("--file", default=None, help="where to keep the NIR file")
    args = parser.parse_args()
    result = (
        run(3.0, 50, args.file) if args.quick else run(path=args.file or "memory.nir")
    )
    meta = result["metadata"]
    print(
        f"theta {meta['theta']:g} s, order {meta['order']}, dt {meta['dt']:g} s, "
        f"realization {meta['realization']}, NengoLMU {meta['nengo_lmu_version']}"
    )
    print(
        f"NRMSE of u(t - theta): Nengo {result['nengo']:.4f}, "
        f"from the NIR file {result['nir_file']:.4f}"
    )


if __name__ == "__main__":
    main()
