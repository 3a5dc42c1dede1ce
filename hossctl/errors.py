"""User-facing failures.

Every failure a user can cause is raised as a ``HossctlError`` carrying one sentence
and an exit code; the CLI prints the sentence and exits, never a traceback.
Messages are built by hossctl itself, so they can never echo a token. They do quote what
servers and config files said (names, error bodies), so ``render`` escapes control and bidi
characters: whatever a message was built from, it stays one line on the terminal.
"""

from __future__ import annotations

from hossctl.sanitize import printable


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
        """What the CLI prints on stderr before exiting with ``exit_code``.

        The one output boundary of every error, so the escaping lives here rather than in
        each place a message is built: a server's ``\\r\\n`` in an error body cannot forge a
        second line, and an ESC cannot reach the terminal, whichever module raised it.
        ``message`` itself stays exact for code that inspects it.
        """
        return f"Error: {printable(self.message)}"


class HossApiError(HossctlError):
    """A non-2xx answer (after retries). ``error`` is the server's ``error`` field, if any."""

    def __init__(
        self, message: str, *, server: str, status: int, error: str | None, method: str, path: str
    ) -> None:
        super().__init__(message)
        self.server = server
        self.status = status
        self.error = error
        self.method = method
        self.path = path
        # A create answered 403 after an earlier attempt whose answer was lost may have met
        # its own first attempt, not someone else's namespace.
        self.replayed = False

    @property
    def not_found(self) -> bool:
        """The core's own answer for a record that does not exist (docs/hoss-server.md §3).

        A 404 with any other body (gin's plain-text ``404 page not found`` for an unknown route,
        a proxy's page) says nothing about the record, so it must not be read as "gone".
        """
        return self.status == 404 and self.error == NOT_FOUND_ERROR


NOT_FOUND_ERROR = "Resource not found"


class MalformedAnswerError(HossApiError):
    """A 2xx answer hossctl cannot trust: not JSON, or JSON not shaped as the real server sends it.

    It is never read as empty or as a default: a proxy's login page in place of a dataset list
    would otherwise pass the emptiness check of a namespace delete. ``problem`` is what was
    wrong, without the server and request that the message adds.
    """

    def __init__(
        self, message: str, *, server: str, status: int, method: str, path: str, problem: str
    ) -> None:
        super().__init__(message, server=server, status=status, error=None, method=method, path=path)
        self.problem = problem


class ServerUnreachableError(HossctlError):
    """No usable answer: the connection failed, the deadline passed or the body was too large."""

    def __init__(self, message: str, *, server: str, url: str) -> None:
        super().__init__(message)
        self.server = server
        self.url = url


class AuthenticationError(HossctlError):
    """No credential, a refused credential route, or a PAT/JWT the server rejected."""

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(message)
        self.server = server


class UnsupportedVersionError(HossctlError):
    """The server's discover reports a version hossctl was not built for."""


class UnaddressableNameError(HossctlError):
    """A name the server lists but whose URL it cannot route (it contains '/' or is empty)."""


class Terminated(BaseException):
    """SIGTERM arrived outside apply's execution phase (which handles signals itself).

    A BaseException like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """


def reported(exc: BaseException) -> tuple[str, int] | None:
    """The line to print on stderr and the exit code for a failure the user caused or a stop
    they asked for, or None for a bug. The one mapping, used by click's command group and by
    the launcher's fast path, so both end a run alike."""
    if isinstance(exc, HossctlError):
        return exc.render(), exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted.", 130
    if isinstance(exc, Terminated):
        return "Terminated.", 143
    return None


def internal_error(exc: BaseException) -> str:
    """A bug, not a user mistake: one line (the traceback only with ``--debug``). The exception's
    text may quote anything (a server's value in a KeyError), so it is escaped."""
    return (
        f"Error: internal error ({type(exc).__name__}: {printable(str(exc))}); rerun with "
        "--debug for the traceback and please report it."
    )


def terminate_on_sigterm() -> None:
    """Without a handler SIGTERM kills the process mid-line and loses buffered output."""
    import signal

    def terminated(signum: int, frame: object) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, terminated)
