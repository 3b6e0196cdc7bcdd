"""Runners: one contract, ``infer(feed) -> {output name: array}``, for every way we can run the network."""


class RunnerError(RuntimeError):
    """A reader could not load or run an artifact (the artifact is then unverified, not the tool broken)."""
