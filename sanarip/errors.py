"""The base of every error Sanarip reports to a user as one clear line."""


class SanaripError(Exception):
    """An expected failure with a message fit for a user (bad input, unreachable service)."""
