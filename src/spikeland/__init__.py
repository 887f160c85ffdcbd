"""Spikeland: the Python backend of the Spike Land platform."""

__version__ = "0.1.0"
