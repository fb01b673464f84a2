"""The package's version, in a room of its own so that any wing can name it without importing
the package's ``__init__`` (which exports the API, a wing above them all)."""

__version__ = "0.1.0"
