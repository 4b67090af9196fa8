"""Install NengoLMU.

Always install under the pinned constraints (see README.md)::

    pip install -c constraints.txt -e ".[all]"

An unpinned install of the ``dl`` or ``keras`` extras resolves to a TensorFlow
with Keras 3, which NengoDL 3.6 cannot import.
"""

import pathlib

from setuptools import find_packages, setup

root = pathlib.Path(__file__).parent
version = {}
exec((root / "nengo_lmu" / "version.py").read_text(), version)

extras = {
    "dl": ["nengo-dl>=3.6", "tensorflow>=2.8,<2.13"],
    "loihi": ["nengo-loihi>=1.1"],
    "keras": ["keras-lmu>=0.8", "tensorflow>=2.8,<2.13", "h5py"],
    "data": ["mlxtend>=0.23,<0.24"],
    "plot": ["matplotlib>=3.5"],
    "nir": ["nir>=1.0.8", "h5py"],
    "tests": [
        "pytest>=7,<8",
        "pytest-xdist",
        "hypothesis>=6",
        "black==24.10.0",
        "ruff==0.6.9",
    ],
    "docs": ["sphinx>=7,<7.3", "matplotlib>=3.5"],
}
extras["all"] = sorted({req for reqs in extras.values() for req in reqs})

setup(
    name="nengo-lmu",
    version=version["version"],
    description="Legendre Memory Units as Nengo networks: exact, spiking, trainable",
    long_description=(root / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["nengo_lmu", "nengo_lmu.*"]),
    python_requires=">=3.8",
    install_requires=["nengo>=3.1", "numpy>=1.21,<2", "scipy>=1.7"],
    extras_require=extras,
    entry_points={"console_scripts": ["nengo-lmu=nengo_lmu.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
