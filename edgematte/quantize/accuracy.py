"""How far a variant's alpha is from FP32's (INT8 against FP32, and what bench compares), and the yardstick
such errors are judged by: FP32 against itself on camera-rounded input."""

from __future__ import annotations

import numpy as np

from edgematte.spec import PipelineSpec


class AlphaErrorProbe:
    """The portrait (previous alpha zero) and a rollout of the sample clip, with the reference's (FP32)
    alphas computed once; :meth:`measure` gives a runner's alpha max/mean abs error against them, the
    runner feeding back its own alpha in the rollout."""

    def __init__(self, reference, spec: PipelineSpec, clip_frames: int = 10):
        import cv2

        from edgematte.sample import sample_frames
        from edgematte.verification.golden import portrait_rgb

        self.spec, self.reference = spec, reference
        self.frames = [spec.normalize_rgb(cv2.resize(f, (spec.width, spec.height), interpolation=cv2.INTER_AREA))
                       for f in sample_frames(spec.camera_width, spec.camera_height, clip_frames)]
        self.portrait = {spec.image_input: spec.normalize_rgb(portrait_rgb(spec.width, spec.height)),
                         spec.alpha_input: np.zeros(spec.alpha_shape, np.float32)}
        self.want_portrait = reference.infer(self.portrait)[spec.alpha_output]
        self.want_clip, prev = [], np.zeros(spec.alpha_shape, np.float32)
        for image in self.frames:
            prev = reference.infer({spec.image_input: image, spec.alpha_input: prev})[spec.alpha_output]
            self.want_clip.append(prev)

    def measure(self, runner) -> dict:
        spec = self.spec
        d = np.abs(runner.infer(self.portrait)[spec.alpha_output] - self.want_portrait)
        out = {"portrait": {"max_abs": float(d.max()), "mean_abs": float(d.mean())}}
        prev, errs = np.zeros(spec.alpha_shape, np.float32), []
        for image, want in zip(self.frames, self.want_clip):
            prev = runner.infer({spec.image_input: image, spec.alpha_input: prev})[spec.alpha_output]
            errs.append(np.abs(prev - want))
        out["clip"] = {"frames": len(self.frames), "max_abs": float(max(e.max() for e in errs)),
                       "mean_abs": float(np.mean([e.mean() for e in errs]))}
        return out

    def camera_rounding_floor(self, seed: int = 0) -> dict:
        """The reference against itself on input re-rounded by ±0.5 level (see :class:`CameraRounding`)."""
        return {**self.measure(CameraRounding(self.reference, self.spec, seed)),
                "note": "FP32 against FP32 on input with ±0.5 uint8 level of uniform noise: the alpha change the "
                        "camera's own 8-bit rounding causes; errors below it are below what the input can tell"}


def alpha_error(reference, runner, spec: PipelineSpec, clip_frames: int = 10) -> dict:
    """Alpha max/mean abs error of ``runner`` against ``reference`` (FP32): see :class:`AlphaErrorProbe`."""
    return AlphaErrorProbe(reference, spec, clip_frames).measure(runner)


class CameraRounding:
    """A runner that adds uniform noise of ±0.5 uint8 level to the image input before running
    ``runner``: the rounding every 8-bit camera frame already carries. FP32 against this runner is
    the alpha change the camera's own quantization causes, the floor below which a lower-precision
    variant's error means nothing for the user."""

    def __init__(self, runner, spec: PipelineSpec, seed: int = 0):
        self.runner, self.spec = runner, spec
        self.rng = np.random.default_rng(seed)
        self.half_level = np.float32(0.5 / spec.norm_std)  # half a uint8 level after normalization

    def infer(self, feed: dict) -> dict:
        image = feed[self.spec.image_input]
        noise = self.rng.uniform(-self.half_level, self.half_level, image.shape).astype(np.float32)
        return self.runner.infer({**feed, self.spec.image_input: image + noise})
