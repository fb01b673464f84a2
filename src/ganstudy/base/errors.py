"""User-facing errors.

Anything a user can cause (a bad key, a missing file, a corrupt download) raises a
:class:`GanstudyError`. The CLI prints its message as one paragraph and exits non-zero;
it never shows a traceback for these. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class GanstudyError(Exception):
    """An error caused by user input, with a message written for that user."""


class ConfigError(GanstudyError):
    """A config or study file is malformed, has an unknown key or a bad value."""


class DataError(GanstudyError):
    """A dataset file is missing, corrupt or has a shape that cannot be used."""
