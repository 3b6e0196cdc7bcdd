"""Runners: one contract, ``infer(feed) -> {output name: array}``, for every way we can run the network."""
