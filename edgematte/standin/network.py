"""A bundle's network standing in for its ``.om``, the one way both stand-ins (``hilens.Model`` and pyACL's
``acl.mdl``) and ``eval``/``bench`` run a compiled model on the CPU: the bundle's ONNX (or its INT8 copy) in
onnxruntime, with the bundle's AIPP emulated in front of each input AIPP feeds, taking raw bytes as the device
does. The sizes come from the model file itself, as an ``.om``'s description gives them: with AIPP, an input
takes a frame of the model input's size in AIPP's input format (the ``.om`` is compiled with AIPP in front, as
``omg``/``atc`` do with ``--insert_op_conf``); without, its float32 tensor.
"""

from __future__ import annotations

import os
import time

import numpy as np


class StandinNetworkError(Exception):
    """The bundle's model cannot be opened (missing or damaged); the message says which file."""


class StandinNetwork:
    """``network``: a :class:`edgematte.bundle.Bundle` or its refiner section; ``int8``: run its INT8 ONNX;
    ``runner``: run this (``infer(feed) -> outputs``) instead of the bundle's ONNX (bench's timed runtimes);
    ``pace_ms``: each inference takes at least this long, as on a board whose NPU takes it (the cost model's
    prediction, say), so an app's pipeline runs on this machine at the board's pace."""

    def __init__(self, network, int8: bool = False, runner=None, pace_ms: float | None = None):
        from edgematte.aipp import BYTES_PER_PIXEL, AippEmulator, parse_aipp
        from edgematte.errors import shorten
        from edgematte.runtime.ort import OrtRunner

        role = "onnx_int8" if int8 else "onnx"
        network.require(role, "aipp", why="edgematte export --to om" + (" --int8" if int8 else ""))
        self.network, self.spec = network, network.spec
        if runner is None:
            try:
                runner = OrtRunner(network.path(role))
            except Exception as e:  # onnxruntime raises its own types for a missing or damaged model
                raise StandinNetworkError(f"cannot load {network.path(role).name}: {shorten(str(e))}") from None
            self.inputs = [(i.name, tuple(i.shape)) for i in runner.session.get_inputs()]
            self.outputs = [(o.name, tuple(o.shape)) for o in runner.session.get_outputs()]
        else:
            self.inputs = list(self.spec.input_shapes.items())
            self.outputs = list(self.spec.output_shapes.items())
        self.runner, self.pace_ms = runner, pace_ms
        self.aipp = {c.related_input_rank: AippEmulator(c) for c in parse_aipp(network.path("aipp").read_text())}
        # bytes per input and output, as the .om's description gives them (read once: the apps ask every frame)
        self.input_bytes = [int(shape[-1] * shape[-2] * BYTES_PER_PIXEL[self.aipp[i].cfg.input_format])
                            if i in self.aipp else int(np.prod(shape)) * 4 for i, (_, shape) in enumerate(self.inputs)]
        self.output_bytes = [int(np.prod(shape)) * 4 for _, shape in self.outputs]

    @classmethod
    def at(cls, bundle, path: str, int8: bool = False, runner=None, pace_ms: float | None = None
           ) -> "StandinNetwork | None":
        """The network of ``bundle`` whose ``.om`` is at ``path`` (the frame network or its refiner; INT8,
        ``runner`` and ``pace_ms`` apply to the frame network only), or None when ``path`` is neither."""
        from edgematte.bundle import file_name, refiner_file

        networks = {file_name("om"): bundle}
        if bundle.refiner is not None:
            networks[refiner_file("om", bundle.refiner.spec.model)] = bundle.refiner
        for rel, network in networks.items():
            if os.path.realpath(str(path)) == os.path.realpath(str(bundle.folder / rel)):
                main = network is bundle
                return cls(network, int8 and main, runner if main else None, pace_ms if main else None)
        return None

    @staticmethod
    def om_files(bundle) -> list[str]:
        """The ``.om`` paths (inside the bundle) a stand-in stands in for."""
        from edgematte.bundle import file_name, refiner_file

        return [file_name("om")] + ([refiner_file("om", bundle.refiner.spec.model)] if bundle.refiner else [])


    def emulate_aipp(self, rank: int, raw: np.ndarray) -> np.ndarray:
        return self.aipp[rank](raw)

    def infer(self, raws: list[np.ndarray]) -> list[np.ndarray]:
        """The inputs as raw bytes (1-D uint8 views, sizes :attr:`input_bytes`: the caller checks them, the way
        its device API does) -> the outputs as float32 arrays of their shapes."""
        began = time.perf_counter()
        feed = {}
        for rank, ((name, shape), raw) in enumerate(zip(self.inputs, raws)):
            feed[name] = self.emulate_aipp(rank, raw) if rank in self.aipp else raw.view(np.float32).reshape(shape)
        outputs = self.runner.infer(feed)
        if self.pace_ms is not None:
            time.sleep(max(0.0, self.pace_ms / 1000 - (time.perf_counter() - began)))
        return [np.ascontiguousarray(outputs[name], np.float32) for name, _ in self.outputs]
