"""Training data: video clips, image mattes, and the synthetic set, all yielding the same sample.

- ``VideoMatteSource``: per clip ``fgr/`` and ``pha/`` frame folders (VideoMatte240K), composited onto
  background images or a random frame of background videos; or ``com/`` and ``pha/`` (already composited, e.g. RVM's videomatte_512x288 or the
  synthetic set), used as they are.
- ``ImageMatteSource``: ``fg/`` and ``alpha/`` with matching names (DIM style), each composited onto N
  backgrounds scaled to cover it; a still "clip" whose previous alpha is the alpha itself (then moved by
  the affine augmentation, as a frame of motion).

A sample is a dict of float32 arrays: ``image`` 3×H×W in [-1, 1], ``alpha``, ``prev_alpha`` and
``trimap`` (MODNet's detail band: 0, 0.5, 1), each 1×H×W. Sample ``i`` drawn with seed ``s`` is always
the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgematte.data.images import IMAGE_EXTS, read_alpha, read_rgb
from edgematte.errors import EdgematteError
from edgematte.train.augment import AugmentConfig, add_lighting, crop_and_flip, previous_alpha
from edgematte.train.trimap import detail_trimap

VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


class DataError(EdgematteError):
    pass


def images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise DataError(f"{folder} has no images ({', '.join(IMAGE_EXTS)})")
    return files


def backgrounds_in(folder: Path) -> list[Path]:
    """Background images and videos (a random frame of a video is used per sample)."""
    if not folder.is_dir():
        raise DataError(f"{folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS + VIDEO_EXTS)
    if not files:
        raise DataError(f"{folder} has no background images or videos ({', '.join(IMAGE_EXTS + VIDEO_EXTS)})")
    return files


def read_background(path: Path, rng: np.random.Generator) -> np.ndarray:
    if path.suffix.lower() not in VIDEO_EXTS:
        return read_rgb(path)
    cap = cv2.VideoCapture(str(path))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if count > 1:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(rng.integers(count)))
        ok, bgr = cap.read()
    finally:
        cap.release()
    if not ok:
        raise DataError(f"{path} cannot be read as a video")
    return np.ascontiguousarray(bgr[..., ::-1])


def cover(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scale to cover w×h (keeping the aspect ratio), centre-crop: the classic composition recipe."""
    sh, sw = image.shape[:2]
    s = max(w / sw, h / sh)
    r = cv2.resize(image, (max(w, int(np.ceil(sw * s))), max(h, int(np.ceil(sh * s)))), interpolation=cv2.INTER_AREA)
    y, x = (r.shape[0] - h) // 2, (r.shape[1] - w) // 2
    return r[y:y + h, x:x + w]


@dataclass(frozen=True)
class Item:
    """One training frame: a foreground (or a ready composite), its alpha, the previous alpha's file."""

    alpha: Path
    prev_alpha: Path | None       # None: frame 0 (zeros) or a still image (its own alpha)
    foreground: Path | None = None
    composite: Path | None = None
    background: Path | None = None
    still: bool = False


class VideoMatteSource:
    def __init__(self, root: str | Path, backgrounds: str | Path | None = None):
        root = Path(root)
        clips = sorted(p.parent for p in root.rglob("pha") if p.is_dir())
        if not clips:
            raise DataError(f"no <clip>/pha/ folders under {root}; expected <clip>/fgr/ + <clip>/pha/ "
                            f"(or <clip>/com/ + <clip>/pha/)")
        self.backgrounds = backgrounds_in(Path(backgrounds)) if backgrounds else []
        self.items: list[Item] = []
        for clip in clips:
            pha = images_in(clip / "pha")
            source = "fgr" if (clip / "fgr").is_dir() and self.backgrounds else "com"
            if not (clip / source).is_dir():
                need = "fgr/ (and --backgrounds)" if source == "fgr" else "com/, or fgr/ with --backgrounds"
                raise DataError(f"{clip} has pha/ but no {source}/: give {need}")
            frames = images_in(clip / source)
            if len(frames) != len(pha):
                raise DataError(f"{clip}: {source}/ has {len(frames)} frames but pha/ has {len(pha)}")
            for t, (f, a) in enumerate(zip(frames, pha)):
                prev = pha[t - 1] if t else None
                self.items.append(Item(a, prev, foreground=f if source == "fgr" else None,
                                       composite=f if source == "com" else None))

    def __len__(self) -> int:
        return len(self.items)

    def item(self, i: int, rng: np.random.Generator) -> Item:
        item = self.items[i]
        if item.foreground is not None:
            bg = self.backgrounds[int(rng.integers(len(self.backgrounds)))]
            return Item(item.alpha, item.prev_alpha, item.foreground, background=bg)
        return item


class ImageMatteSource:
    def __init__(self, root: str | Path, backgrounds: str | Path, per_image: int = 4):
        root = Path(root)
        fgs, alphas = images_in(root / "fg"), {p.stem: p for p in images_in(root / "alpha")}
        missing = [f for f in fgs if f.stem not in alphas]
        if missing:
            raise DataError(f"{missing[0]} has no alpha in {root / 'alpha'}")
        bgs = backgrounds_in(Path(backgrounds))
        rng = np.random.default_rng(0)  # which N backgrounds go with each image: fixed, like DIM's lists
        self.items = [Item(alphas[f.stem], None, foreground=f, background=bgs[int(rng.integers(len(bgs)))], still=True)
                      for f in fgs for _ in range(per_image)]

    def __len__(self) -> int:
        return len(self.items)

    def item(self, i: int, rng: np.random.Generator) -> Item:
        return self.items[i]


class SampleBuilder:
    """Turns an :class:`Item` into a training sample at the spec's size, normalised as the spec says."""

    def __init__(self, spec, augment: AugmentConfig = AugmentConfig()):
        self.spec, self.size, self.augment = spec, (spec.width, spec.height), augment

    def __call__(self, item: Item, rng: np.random.Generator) -> dict[str, np.ndarray]:
        alpha = read_alpha(item.alpha)
        h, w = alpha.shape
        if item.composite is not None:
            rgb = read_rgb(item.composite)
        else:
            fg = read_rgb(item.foreground)
            bg = cover(read_background(item.background, rng), w, h)
            if fg.shape[:2] != (h, w):
                raise DataError(f"{item.foreground} is {fg.shape[1]}x{fg.shape[0]} but {item.alpha} is {w}x{h}")
            a = alpha[..., None]
            rgb = np.clip(a * fg + (1 - a) * bg + 0.5, 0, 255).astype(np.uint8)
        if rgb.shape[:2] != (h, w):
            raise DataError(f"{item.composite} and {item.alpha} differ in size")
        prev = alpha.copy() if item.still else (read_alpha(item.prev_alpha) if item.prev_alpha else np.zeros_like(alpha))
        rgb = add_lighting(rgb, rng, self.augment)
        rgb, alpha, prev = crop_and_flip([rgb, alpha, prev], self.size, rng, self.augment)
        prev = previous_alpha(prev, rng, self.augment)
        trimap = detail_trimap(alpha, rng)
        return {"image": self.spec.normalize_rgb(rgb)[0], "alpha": alpha[None].astype(np.float32),
                "prev_alpha": prev[None].astype(np.float32), "trimap": trimap[None].astype(np.float32)}


def open_source(data: str | Path, backgrounds: str | Path | None = None, kind: str = "video"):
    if kind == "video":
        return VideoMatteSource(data, backgrounds)
    if kind == "image":
        if backgrounds is None:
            raise DataError("image mattes need --backgrounds (a folder of background images)")
        return ImageMatteSource(data, backgrounds)
    raise DataError(f"unknown data kind {kind!r}; use video or image")
