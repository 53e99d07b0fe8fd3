"""The error a user can fix: bad flags, bad data, a missing file. The scripts show it as one `error:` line; any
other exception is a bug and keeps its traceback."""

from __future__ import annotations


class UsageError(ValueError):
    """Raised where bad input is first seen; the message names the flag, file or line and what to do."""
