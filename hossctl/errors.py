"""User-facing failures.

Every failure a user can cause is raised as a ``HossctlError`` carrying one sentence
and an exit code; the CLI prints the sentence and exits, never a traceback.
Messages are built by hossctl itself, so they can never echo a token.
"""

from __future__ import annotations


class HossctlError(Exception):
    """A failure to report to the user as one clear sentence."""

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """What the CLI prints on stderr before exiting with ``exit_code``."""
        return f"Error: {self.message}"


class Terminated(BaseException):
    """SIGTERM arrived outside apply's execution phase (which handles signals itself).

    A BaseException like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """
