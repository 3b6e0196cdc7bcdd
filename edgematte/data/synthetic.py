"""A tiny synthetic video-matting set for tests and demos: soft-edged shapes with thin strands moving over
textures, written in RVM's layout ``<root>/<set>/<clip>/{com,pha,fgr}/NNNN.png``. Seeded, no downloads."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


MARKER = "SYNTHETIC.txt"  # written beside the clips, so reports can say the data is synthetic


def _texture(rng, h: int, w: int) -> np.ndarray:
    base = rng.integers(0, 256, (max(2, h // 8), max(2, w // 8), 3), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 2)


def synthetic_clip(rng, frames: int, width: int, height: int):
    """Yield (composite RGB uint8, alpha uint8, foreground RGB uint8) per frame."""
    background = _texture(rng, height, width)
    foreground = _texture(rng, height, width)
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    vx, vy = rng.uniform(-2, 2), rng.uniform(-1, 1)
    rx, ry = rng.uniform(0.15, 0.25) * width, rng.uniform(0.2, 0.35) * height
    strands = [(rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.0)) for _ in range(6)]
    for t in range(frames):
        mask = np.zeros((height, width), np.float32)
        x, y = cx + vx * t, cy + vy * t
        cv2.ellipse(mask, (int(x), int(y)), (int(rx), int(ry)), 0, 0, 360, 1.0, -1)
        for angle, length in strands:  # thin hair-like strands leaving the head
            end = (int(x + np.cos(angle) * rx * (1 + length)), int(y + np.sin(angle) * ry * (1 + length)))
            cv2.line(mask, (int(x), int(y)), end, 0.6, 1, cv2.LINE_AA)
        alpha = cv2.GaussianBlur(mask, (0, 0), 1.2)
        a = alpha[..., None]
        composite = a * foreground + (1 - a) * background
        yield (np.clip(composite + 0.5, 0, 255).astype(np.uint8), np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8),
               foreground)


def write_synthetic_dataset(root: str | Path, clips: int = 2, frames: int = 8, width: int = 96, height: int = 64,
                            seed: int = 0, name: str = "synthetic") -> Path:
    root = Path(root)
    rng = np.random.default_rng(seed)
    for c in range(clips):
        clip = root / name / f"clip{c:02d}"
        for sub in ("com", "pha", "fgr"):
            (clip / sub).mkdir(parents=True, exist_ok=True)
        for t, (com, pha, fgr) in enumerate(synthetic_clip(rng, frames, width, height)):
            cv2.imwrite(str(clip / "com" / f"{t:04d}.png"), com[..., ::-1])
            cv2.imwrite(str(clip / "pha" / f"{t:04d}.png"), pha)
            cv2.imwrite(str(clip / "fgr" / f"{t:04d}.png"), fgr[..., ::-1])
    (root / name / MARKER).write_text(f"edgematte's synthetic set: {clips} clips of {frames} frames, {width}x{height}, "
                                      f"seed {seed}; shapes over textures, not people\n")
    return root


def is_synthetic(root: str | Path) -> bool:
    """Whether ``root`` holds a set this generator wrote (its marker, at the top or one folder down)."""
    root = Path(root)
    return (root / MARKER).is_file() or any((p / MARKER).is_file() for p in root.iterdir() if p.is_dir())
