"""Errors the user can fix: the command line prints them as one line and exits 1."""


class UserError(Exception):
    """A problem in the project's files, settings or arguments; the message says what to do."""


class ProblemList(UserError):
    """Several problems found at once (every one is reported, not just the first)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class TransportUnavailable(UserError):
    """The SMTP server could not be reached or refused us before anything was attempted."""
