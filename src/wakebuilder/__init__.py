"""WakeBuilder: train custom wake-word detectors offline on a CPU."""

__version__ = "0.1.0"
__all__ = ["__version__"]
