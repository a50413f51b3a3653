"""Errors of the data-source connectors: one clear message per failure.

Every error names the source, the request (without secrets) and what to do, so an
operator can act on it without reading code. A missing or broken input is never
turned into zeros.
"""

from __future__ import annotations


class SourceError(RuntimeError):
    """A source answered with something that cannot be used.

    Parameters
    ----------
    source : str
        Catalog id of the source, e.g. ``"dmi_metobs"``.
    request : str
        The request that was made, without secrets.
    problem : str
        What is wrong with the answer.
    fix : str
        What the operator can do about it.
    """

    def __init__(self, source: str, request: str, problem: str, fix: str):
        self.source = source
        self.request = request
        self.problem = problem
        self.fix = fix
        super().__init__(f"source '{source}': {problem}\n  request: {request}\n  what to do: {fix}")


class CredentialMissingError(SourceError):
    """A credential the source needs is not set in the environment."""

    def __init__(self, source: str, variable: str, purpose: str):
        self.variable = variable
        super().__init__(
            source, "(not sent)", f"the environment variable {variable} is not set ({purpose})",
            f"set {variable} in the environment of the process (it is never read from files "
            "or logged)")


class OfflineMissError(SourceError):
    """Offline mode and the item asked for is not in the cache."""

    def __init__(self, source: str, request: str, cache_dir: str):
        super().__init__(
            source, request, f"offline mode and this item is not in the cache ({cache_dir})",
            "fetch it once with network access (wetindex fetch ...) or turn offline mode off")
