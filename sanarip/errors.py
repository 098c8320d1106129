"""The base of every error Sanarip reports to a user as one clear line, and "not found"."""


class SanaripError(Exception):
    """An expected failure with a message fit for a user (bad input, unreachable service)."""


class NotFound(SanaripError):
    """The object named (a sitting, committee, segment, revision, stored file …) does not exist."""
