"""Errors that reach the user, each with its documented exit code.

Every error a user can cause is a :class:`MediusError` subclass. The CLI prints
``medius: error: <message>`` on one line and exits with ``exit_code``; it never
shows a traceback for these. The table is repeated in ``docs/cli.md``.

=====  ==========================  =====================================================
code   class                       meaning
=====  ==========================  =====================================================
0      -                           success
1      (any other exception)       internal error: a bug in medius, please report it
2      (usage)                     bad command-line usage: unknown option, bad value
3      InputNotFoundError          the input file or folder does not exist / unreadable
4      InvalidInputError           the input exists but is not what it claims to be:
                                   not a video, corrupt or truncated, zero frames,
                                   a keypoint file that does not parse, absurd size
5      NotJudgeableError           the input is valid but the capture cannot be judged:
                                   no person, several people, side view, body out of
                                   frame, too few reps, frame rate too low ... (a report
                                   saying why is still written)
6      OutputError                 the output folder exists (use --force) or cannot be
                                   written
7      (medius batch --strict)     at least one item of a batch failed (not judgeable
                                   is not a failure)
130    (interrupt)                 Ctrl-C; nothing half-written is left
=====  ==========================  =====================================================
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "EXIT_CODES",
    "InputNotFoundError",
    "InvalidInputError",
    "MediusError",
    "NotJudgeableError",
    "OutputError",
    "UsageError",
]


class MediusError(Exception):
    """Base of every user-facing error. ``str(err)`` is the one line shown."""

    exit_code: int = 1

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class InputNotFoundError(MediusError):
    """The input path does not exist or cannot be read."""

    exit_code = 3


class InvalidInputError(MediusError):
    """The input exists but cannot be used (not a video, corrupt, unparsable, out of range)."""

    exit_code = 4


class NotJudgeableError(MediusError):
    """The capture is valid but cannot be judged; ``reasons`` and ``advice`` say why."""

    exit_code = 5

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        reasons: list[str] | None = None,
        advice: list[str] | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.reasons = list(reasons or [message])
        self.advice = list(advice or [])


class UsageError(MediusError):
    """The command line is missing something it needs (exit code 2, as a usage error)."""

    exit_code = 2


class OutputError(MediusError):
    """The output location exists (without ``--force``) or cannot be written."""

    exit_code = 6


#: exit code by error class name, for documentation and tests
EXIT_CODES: dict[str, int] = {
    "success": 0,
    "internal": 1,
    "usage": 2,
    InputNotFoundError.__name__: InputNotFoundError.exit_code,
    InvalidInputError.__name__: InvalidInputError.exit_code,
    NotJudgeableError.__name__: NotJudgeableError.exit_code,
    OutputError.__name__: OutputError.exit_code,
}
