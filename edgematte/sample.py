"""A sample clip made on the spot (nothing is downloaded): the astronaut portrait moving over a textured
background at camera resolution, with a tone as its audio track."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgematte.verification.golden import portrait_rgb

SAMPLE_FPS = 25
MAX_SECONDS = 600.0  # ten minutes of 720p frames is already ~1 GB of raw RGB through the encoder


def _texture(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([120 + 60 * np.sin(xx / 37 + c) * np.cos(yy / 23 - c) for c in (0.0, 1.3, 2.6)], axis=2)
    noise = cv2.GaussianBlur(rng.normal(0, 25, (height, width, 3)).astype(np.float32), (0, 0), 3)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def sample_frames(width: int = 1280, height: int = 720, frames: int = 125, seed: int = 0):
    """RGB frames: a soft-edged portrait that drifts and bobs across a textured background."""
    background = _texture(width, height, seed)
    size = (height * 4 // 5) // 2 * 2
    person = portrait_rgb(size, size).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    mask = (((xx - size / 2) / (size * 0.38)) ** 2 + ((yy - size * 0.55) / (size * 0.47)) ** 2) <= 1
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), size / 60)[..., None]
    for t in range(frames):
        x = int((width - size) * (0.5 + 0.4 * np.sin(2 * np.pi * t / max(frames, 1))))
        y = height - size + int(8 * np.sin(2 * np.pi * t / 25))
        y = max(0, min(y, height - size))
        frame = background.astype(np.float32)
        roi = frame[y:y + size, x:x + size]
        frame[y:y + size, x:x + size] = alpha * person + (1 - alpha) * roi
        yield frame.astype(np.uint8)


def write_sample_clip(path: str | Path, seconds: float = 5.0, fps: int = SAMPLE_FPS, width: int = 1280, height: int = 720,
                      tone_hz: float | None = 440.0) -> Path:
    """Encode the sample as H.264 mp4, with an AAC tone unless ``tone_hz`` is None."""
    from edgematte.video import H264Writer

    frames = int(round(seconds * fps))
    tone = ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={frames / fps}"] if tone_hz else None
    writer = H264Writer(path, width, height, fps, "rgb24", tone)
    for frame in sample_frames(width, height, frames):
        writer.write(frame)
    writer.close()
    return Path(path)
