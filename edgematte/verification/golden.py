"""Golden inputs and the PyTorch outputs for them, saved as ``golden.npz`` beside every export.

MODNet: random inputs, a real portrait (``skimage.data.astronaut()``, first frame: previous alpha zero),
and a rollout of moving portrait frames in which each alpha is fed back as the next ``prev_alpha``.
M-Net: random inputs (the trimap drawn from 0 / 0.5 / 1), and the portrait with a trimap around its centre.
M-Net's reference is PyTorch with real max-unpooling by the pooling indices, run in float64. Its pooling
windows are full of ties: 27-56 % of them hold only post-ReLU zeros (measured on random-weight checkpoints),
where the value must go to the first position, so an unpooling that gets PyTorch's tie rule wrong is caught
on both cases. Why float64 and the portrait's dither (:data:`edgematte.networks.DITHER`: 8-bit levels of noise, as a camera's sensor
adds): max-unpooling is discontinuous where two non-zero values of a window are within rounding of each
other, and each FP32 implementation rounds differently. Measured on random weights at 320x320, PyTorch's own
FP32 run picked the other winner of such a near-tie than float64 and onnxruntime did, moving 108 pixels of
the alpha by up to 0.018; moving the undithered portrait by 1e-6 moved the alpha by up to 0.3 (with 8 levels
of dither: 4e-7). Against the float64 result the readers agreed to 8e-7 (docs/mnet.md).
M-Net's file also holds, per case and pooling stage, the reference's winners and near-ties
(:mod:`edgematte.verification.near_ties`), which make its checks flip-aware.
The device side, which has no PyTorch, can verify against this file alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgematte.loop import PreviousAlpha
from edgematte.spec import PipelineSpec


SINGLE_CASES = ("random", "portrait")


def has_rollout(spec: PipelineSpec) -> bool:
    """Only a network that feeds its output back as its input has a rollout."""
    return spec.network.feedback and spec.rollout_frames > 0


def random_feed(spec: PipelineSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random inputs of the spec's network: an image in [-1, 1]; a previous alpha in [0, 1] or a trimap."""
    second = spec.network.random_second(spec, rng)  # drawn first: the golden files' order since format 2
    return {spec.image_input: rng.uniform(-1, 1, spec.image_shape).astype(np.float32), spec.second_input: second}


def portrait_rgb(width: int, height: int, zoom: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The astronaut portrait (ships with scikit-image, no download), cropped to cover ``width``×``height``.

    ``zoom`` and ``shift`` (in output pixels) move the camera, to make frames of a moving scene.
    """
    from skimage import data

    src = data.astronaut()  # 512×512 RGB uint8
    s = max(width / src.shape[1], height / src.shape[0]) * zoom
    cx, cy = src.shape[1] / 2, src.shape[0] / 2
    m = np.array([[s, 0, width / 2 - s * cx + shift[0]], [0, s, height / 2 - s * cy + shift[1]]], np.float64)
    return cv2.warpAffine(src, m, (width, height), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT101)


def rollout_rgb(width: int, height: int, frames: int) -> list[np.ndarray]:
    """Frames of the portrait under a slow zoom and pan, as a camera would see a person move."""
    return [portrait_rgb(width, height, zoom=1.0 + 0.03 * t, shift=(4.0 * t, -2.0 * t)) for t in range(frames)]


@dataclass
class GoldenSet:
    """Inputs and expected outputs, keyed ``<case>.<tensor>`` (rollout arrays carry a leading frame axis)."""

    arrays: dict[str, np.ndarray]

    def feed(self, spec: PipelineSpec, case: str) -> dict[str, np.ndarray]:
        return {name: self.arrays[f"{case}.{name}"] for name in spec.input_names}

    def expected(self, spec: PipelineSpec, case: str) -> np.ndarray:
        return self.arrays[f"{case}.{spec.alpha_output}"]

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **self.arrays)

    @classmethod
    def load(cls, path: str | Path, spec: PipelineSpec | None = None) -> "GoldenSet":
        """Read golden.npz (never pickles); with ``spec``, check it holds every case for that spec (ValueError)."""
        with np.load(path, allow_pickle=False) as z:
            golden = cls({k: z[k] for k in z.files})
        if spec is not None:
            frames = (spec.rollout_frames,)
            want = {f"{case}.{name}": shape for case in SINGLE_CASES
                    for name, shape in {**spec.input_shapes, **spec.output_shapes}.items()}
            if has_rollout(spec):
                want.update({f"rollout.{spec.image_input}": frames + spec.image_shape,
                             f"rollout.{spec.alpha_input}": spec.alpha_shape,
                             f"rollout.{spec.alpha_output}": frames + spec.alpha_shape})
            for key, shape in want.items():
                got = golden.arrays.get(key)
                if got is None or got.shape != tuple(shape) or got.dtype != np.float32:
                    what = "missing" if got is None else f"{got.dtype} {got.shape}"
                    raise ValueError(f"{key} is {what}, expected float32 {tuple(shape)}")
            if spec.network.unpooling:
                from edgematte.verification.near_ties import check_golden

                check_golden(golden.arrays, spec, SINGLE_CASES)
        return golden


def rollout(runner, spec: PipelineSpec, images: np.ndarray, first_alpha: np.ndarray) -> np.ndarray:
    """Run frames in order, feeding each output alpha back as the next ``prev_alpha`` through the apps' loop core
    (:class:`edgematte.loop.PreviousAlpha`, its reset rules off: the frames hold no cut and a person throughout);
    (T, 1, 1, H, W)."""
    previous, alphas = PreviousAlpha(spec.width, spec.height, None, None), []
    previous.alpha = first_alpha.reshape(spec.height, spec.width)
    for image in images:
        alpha = runner.infer({spec.image_input: image, spec.alpha_input: previous.feed()[None, None]})[spec.alpha_output]
        previous.keep(alpha.reshape(spec.height, spec.width))
        alphas.append(alpha)
    return np.stack(alphas)


def make_golden(reference, spec: PipelineSpec) -> GoldenSet:
    """Build the golden inputs for ``spec`` and record what ``reference`` (PyTorch) computes for them."""
    rng = np.random.default_rng(spec.seed)
    portrait = spec.normalize_rgb(portrait_rgb(spec.width, spec.height))
    feeds = {"random": random_feed(spec, rng)}
    feeds["portrait"] = spec.network.portrait_feed(spec, portrait, rng)
    arrays: dict[str, np.ndarray] = {}
    for case, feed in feeds.items():
        arrays.update({f"{case}.{k}": v for k, v in feed.items()})
        arrays[f"{case}.{spec.alpha_output}"] = reference.infer(feed)[spec.alpha_output]

    if not has_rollout(spec):
        return GoldenSet(arrays)
    images = np.stack([spec.normalize_rgb(f) for f in rollout_rgb(spec.width, spec.height, spec.rollout_frames)])
    zeros = np.zeros(spec.alpha_shape, np.float32)
    arrays[f"rollout.{spec.image_input}"] = images
    arrays[f"rollout.{spec.alpha_input}"] = zeros
    arrays[f"rollout.{spec.alpha_output}"] = rollout(reference, spec, images, zeros)
    return GoldenSet(arrays)
