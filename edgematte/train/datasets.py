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
from edgematte.train.augment import AugmentConfig, add_lighting, crop_and_flip, lighting, previous_alpha
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
        self.spans: list[tuple[int, int]] = []  # per item: its clip's first item and frame count
        self.shortest = None  # (frames, clip) of the shortest clip
        for clip in clips:
            pha = images_in(clip / "pha")
            source = "fgr" if (clip / "fgr").is_dir() and self.backgrounds else "com"
            if not (clip / source).is_dir():
                need = "fgr/ (and --backgrounds)" if source == "fgr" else "com/, or fgr/ with --backgrounds"
                raise DataError(f"{clip} has pha/ but no {source}/: give {need}")
            frames = images_in(clip / source)
            if len(frames) != len(pha):
                raise DataError(f"{clip}: {source}/ has {len(frames)} frames but pha/ has {len(pha)}")
            first = len(self.items)
            for t, (f, a) in enumerate(zip(frames, pha)):
                prev = pha[t - 1] if t else None
                self.items.append(Item(a, prev, foreground=f if source == "fgr" else None,
                                       composite=f if source == "com" else None))
                self.spans.append((first, len(pha)))
            if self.shortest is None or len(pha) < self.shortest[0]:
                self.shortest = (len(pha), clip)

    def __len__(self) -> int:
        return len(self.items)

    def item(self, i: int, rng: np.random.Generator) -> Item:
        return self.clip(i, 1, rng)[0]

    def require_frames(self, frames: int) -> None:
        """Refuse clip training whose clips are longer than the shortest clip."""
        if self.shortest[0] < frames:
            raise DataError(f"{self.shortest[1]} has {self.shortest[0]} frames, fewer than --clip-frames {frames}; "
                            f"give clips of {frames} or more frames, or a smaller --clip-frames")

    def clip(self, i: int, frames: int, rng: np.random.Generator) -> list[Item]:
        """``frames`` consecutive frames of item ``i``'s clip ending at item ``i`` (or, near the clip's start, the
        first ``frames``), on one background."""
        first, count = self.spans[i]
        self.require_frames(frames)
        end = max(i, first + frames - 1)
        items = self.items[end - frames + 1:end + 1]
        if items[0].foreground is None:
            return items
        bg = self.backgrounds[int(rng.integers(len(self.backgrounds)))]
        return [Item(item.alpha, item.prev_alpha, item.foreground, background=bg) for item in items]


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

    def require_frames(self, frames: int) -> None:
        """A still repeats: any clip length goes."""

    def clip(self, i: int, frames: int, rng: np.random.Generator) -> list[Item]:
        """A still image as a clip: the same frame ``frames`` times (the previous alpha is the alpha, moved)."""
        return [self.items[i]] * frames


class SampleBuilder:
    """Turns an :class:`Item` into a training sample at the spec's size, normalised as the spec says."""

    def __init__(self, spec, augment: AugmentConfig = AugmentConfig()):
        self.spec, self.size, self.augment = spec, (spec.width, spec.height), augment

    def __call__(self, item: Item, rng: np.random.Generator) -> dict[str, np.ndarray]:
        sample = self.clip([item], rng)
        return {k: v[0] for k, v in sample.items() if k != "own_draw"}

    def clip(self, items: list[Item], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Consecutive frames as one sample: each array gains a leading frame axis. One background, lighting,
        crop and flip for every frame (so a frame's previous alpha lines up with it); each frame's ground-truth
        previous alpha augmented on its own; ``own_draw``: one uniform number per frame, which the trainer compares
        with the own-feedback probability (drawn here, so a resumed run draws the same)."""
        background = None
        rgbs, alphas, prevs = [], [], []
        for item in items:
            alpha = read_alpha(item.alpha)
            h, w = alpha.shape
            if alphas and alphas[0].shape != (h, w):
                raise DataError(f"{item.alpha} is {w}x{h} but its clip's first frame {items[0].alpha} is "
                                f"{alphas[0].shape[1]}x{alphas[0].shape[0]}")
            if item.composite is not None:
                rgb = read_rgb(item.composite)
            else:
                fg = read_rgb(item.foreground)
                if fg.shape[:2] != (h, w):
                    raise DataError(f"{item.foreground} is {fg.shape[1]}x{fg.shape[0]} but {item.alpha} is {w}x{h}")
                if background is None:
                    background = cover(read_background(item.background, rng), w, h)
                a = alpha[..., None]
                rgb = np.clip(a * fg + (1 - a) * background + 0.5, 0, 255).astype(np.uint8)
            if rgb.shape[:2] != (h, w):
                raise DataError(f"{item.composite} and {item.alpha} differ in size")
            rgbs.append(rgb)
            alphas.append(alpha)
            prevs.append(alpha.copy() if item.still else (read_alpha(item.prev_alpha) if item.prev_alpha
                                                         else np.zeros_like(alpha)))
        light = lighting(rgbs[0].shape[:2], rng, self.augment)
        rgbs = [add_lighting(rgb, light) for rgb in rgbs]
        k = len(items)
        cropped = crop_and_flip(rgbs + alphas + prevs, self.size, rng, self.augment)
        rgbs, alphas, prevs = cropped[:k], cropped[k:2 * k], cropped[2 * k:]
        frames = []
        for rgb, alpha, prev in zip(rgbs, alphas, prevs):
            prev = previous_alpha(prev, rng, self.augment)
            trimap = detail_trimap(alpha, rng)
            frames.append({"image": self.spec.normalize_rgb(rgb)[0], "alpha": alpha[None].astype(np.float32),
                           "prev_alpha": prev[None].astype(np.float32), "trimap": trimap[None].astype(np.float32)})
        sample = {key: np.stack([f[key] for f in frames]) for key in frames[0]}
        sample["own_draw"] = rng.random(k).astype(np.float32)
        return sample


def open_source(data: str | Path, backgrounds: str | Path | None = None, kind: str = "video"):
    if kind == "video":
        return VideoMatteSource(data, backgrounds)
    if kind == "image":
        if backgrounds is None:
            raise DataError("image mattes need --backgrounds (a folder of background images)")
        return ImageMatteSource(data, backgrounds)
    raise DataError(f"unknown data kind {kind!r}; use video or image")
