"""Scikit-learn recommenders that meta-learn to adapt to cold users and items."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
