"""NengoLMU's version, read by setup.py without importing the package."""

version = "0.1.0.dev0"
