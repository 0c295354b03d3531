"""The base of every error a user can cause (bad options, files, environments, messages).

The command line prints these as one line naming the problem (no traceback unless
``--debug``); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["HandoffqError"]


class HandoffqError(Exception):
    """An error caused by input (an option, a file, an environment, a message): its message
    names the option, file, line or field at fault."""
