"""Runs a prototxt + caffemodel pair in OpenCV DNN 4.x, in a worker process.

OpenCV is an independent Caffe reader (it parses both files with its own caffe.proto and implements
``Interp``). A layer it cannot build may abort the process, so it runs in a child that lives as long as
the runner: each ``infer`` sends the inputs as an ``.npz`` over a pipe and reads the outputs back.
Fusion is off: OpenCV's layer fusion changes the arithmetic we want to check. Winograd is off too: its 3×3
convolutions round differently at each position of a tile, so equal inputs (a flat image region) give outputs
that differ in the last bits from pixel to pixel. A max-unpooling network (M-Net) turns such a difference
inside a tied 2×2 window into a different winner: measured on M-Net ×0.25 at 96×64, the flat golden case
moved by 3.6e-3 with Winograd and 1.3e-8 without. Direct convolution computes every position alike, as
PyTorch's reference does.

Worker: ``python -m edgematte.runtime.opencv_caffe PROTOTXT CAFFEMODEL``.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from edgematte.runtime import RunnerError

_LEN = struct.Struct("<Q")
_EXTRA = "__extra__"  # the feed's key naming the layers to return beside the outputs


def _send(stream, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    stream.write(_LEN.pack(len(data)) + data)
    stream.flush()


def _receive(stream) -> dict[str, np.ndarray] | None:
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (size,) = _LEN.unpack(head)
    with np.load(io.BytesIO(stream.read(size))) as z:
        return {k: z[k] for k in z.files}


class OpenCvCaffeRunner:
    name = "opencv-dnn"

    def __init__(self, prototxt: str | Path, caffemodel: str | Path):
        self.proc = subprocess.Popen([sys.executable, "-m", __name__, str(prototxt), str(caffemodel)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def _died(self) -> RunnerError:
        self.proc.kill()
        err = self.proc.stderr.read().decode(errors="replace").strip().splitlines()
        why = next((line for line in reversed(err) if line.strip()), "no message")
        return RunnerError(f"OpenCV DNN could not run the Caffe model: {why[-300:]}")

    def infer(self, feed: dict[str, np.ndarray], extra: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """The net's outputs for ``feed``; ``extra``: layers whose output to return as well."""
        try:
            _send(self.proc.stdin, {**feed, _EXTRA: np.array(list(extra), dtype=str)})
            out = _receive(self.proc.stdout)
        except (BrokenPipeError, OSError):
            out = None
        if out is None:
            raise self._died()
        if "__error__" in out:
            raise RunnerError(f"OpenCV DNN: {out['__error__']}")
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)

    def __del__(self):
        try:
            if self.proc.poll() is None:
                self.proc.kill()
        except Exception:
            pass


def _worker(prototxt: str, caffemodel: str) -> None:
    import cv2

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
    net.enableFusion(False)
    net.enableWinograd(False)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    outputs = list(net.getUnconnectedOutLayersNames())
    while (feed := _receive(stdin)) is not None:
        wanted = outputs + [str(name) for name in feed.pop(_EXTRA, [])]
        try:
            for name, value in feed.items():
                net.setInput(np.ascontiguousarray(value, np.float32), name)
            result = dict(zip(wanted, net.forward(wanted)))
        except cv2.error as e:
            result = {"__error__": np.array(str(e).strip().splitlines()[-1])}
        _send(stdout, result)


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
