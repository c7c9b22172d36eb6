"""The project's one error base class: every error a user can fix derives from it, and the CLI catches it
once, prints its one-line message and exits with status 2 (no traceback)."""


class VocError(Exception):
    """A problem the user can fix; the message names the file, row, column or setting and the fix."""


class ModelFileError(VocError, RuntimeError):
    """A model directory is missing, incomplete, damaged, or does not score as it did when it was saved."""
