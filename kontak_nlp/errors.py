"""Exceptions raised by kontak_nlp. All derive from :class:`KontakError`."""

from __future__ import annotations


class KontakError(Exception):
    """Base class of every error kontak_nlp raises on purpose."""


class BackboneError(KontakError):
    """The embedded backbone could not be converted, found or verified."""


class ModelLoadError(KontakError):
    """A model directory is missing, incomplete, corrupted or unsafe to load."""


class InputError(KontakError, ValueError):
    """A text or data row cannot be processed; the message names its position.

    ``position`` is the 0-based index of the bad text in the call's input, when one text is to blame.

    Example:
        >>> InputError("texts at position 3 is None", position=3).position
        3
    """

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class DataError(KontakError, ValueError):
    """A data file or dataset is malformed (missing column, unknown label, too few examples...)."""
