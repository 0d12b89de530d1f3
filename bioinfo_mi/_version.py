"""The package version, in a leaf module: the fits layer puts it in every cache key without importing the package
root, and the build reads it statically (``pyproject.toml``: ``attr = "bioinfo_mi._version.__version__"``).
"""

__version__ = "0.1.0"
