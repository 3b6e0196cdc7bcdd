"""Synthetic webcam scenes with what makes a single-frame matting model flicker, for the temporal study.

A person-like subject (a head with thin hair strands of fractional alpha, a neck, shoulders and a torso cut by the
bottom of the frame, two swinging arms; soft edges; textures cut from scikit-image's photos, which ship offline)
moves and deforms over a slowly panning real photo. Every frame then gets sensor noise and a JPEG round trip,
as a webcam's stream does. A clip follows one scenario:

- ``steady``: the subject sways in view;
- ``enter`` / ``leave``: the subject walks in from a side / out of the frame, with empty frames before / after;
- ``light``: at an event frame a backlight comes on behind the subject and the exposure drops.

The composite goes to ``com/``, the true alpha to ``pha/`` (both before noise: the noise is the camera's), the
clean foreground to ``fgr/``, and each clip's ``events.json`` says which frames are empty and where the events
are. Everything is drawn from the seed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edgematte.data.synthetic import MARKER  # reports say the data is synthetic

SCENARIOS = ("steady", "enter", "leave", "light")
BACKGROUND_PHOTOS = ("coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "chelsea", "retina")
NOISE_SIGMA = (1.5, 4.0)     # sensor noise, 8-bit levels (uniform draw per clip)
JPEG_QUALITY = (35, 75)      # the stream's compression (uniform draw per clip)
STRANDS = 14                 # hair strands per head


@dataclass
class ClipEvents:
    scenario: str
    frames: int
    empty: list[int] = field(default_factory=list)  # frames without the subject
    enter: int | None = None   # the first frame the subject is in view
    leave: int | None = None   # the first frame it is gone
    light: int | None = None   # the frame the backlight comes on


def _photo(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    return image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


def _cover(image: np.ndarray, w: int, h: int, rng: np.random.Generator, zoom: float) -> np.ndarray:
    s = max(w / image.shape[1], h / image.shape[0]) * zoom
    big = cv2.resize(image, (int(np.ceil(image.shape[1] * s)), int(np.ceil(image.shape[0] * s))),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    y, x = int(rng.integers(0, big.shape[0] - h + 1)), int(rng.integers(0, big.shape[1] - w + 1))
    return big[y:y + h, x:x + w]


class _Subject:
    """A head-and-shoulders figure whose pose is a function of time; draws its alpha and foreground."""

    def __init__(self, rng: np.random.Generator, w: int, h: int):
        self.w, self.h = w, h
        self.head = h * rng.uniform(0.13, 0.17)  # head radius
        self.sway, self.period = w * rng.uniform(0.02, 0.06), rng.uniform(20, 40)
        self.arm_swing = rng.uniform(0.2, 0.5)
        self.strands = [(rng.uniform(-2.6, -0.5), rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.8)) for _ in range(STRANDS)]
        suit = _cover(_photo("astronaut"), w, h, rng, rng.uniform(1.0, 1.5))
        hair = cv2.cvtColor(_cover(_photo("chelsea"), w, h, rng, 1.2), cv2.COLOR_RGB2HSV)
        hair[..., 2] = (hair[..., 2] * 0.5).astype(np.uint8)  # darker, as hair is
        self.texture = suit
        self.hair = cv2.cvtColor(hair, cv2.COLOR_HSV2RGB)

    def draw(self, t: float, cx: float) -> tuple[np.ndarray, np.ndarray]:
        """(alpha H×W float32 in [0, 1], foreground H×W×3 uint8) with the body centred at ``cx``."""
        w, h, r = self.w, self.h, self.head
        mask = np.zeros((h, w), np.float32)
        cx = cx + self.sway * np.sin(2 * np.pi * t / self.period)
        cy = h * 0.42 + 0.02 * h * np.sin(2 * np.pi * t / (self.period * 0.7))
        cv2.ellipse(mask, (int(cx), int(cy)), (int(r * 0.85), int(r)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
        cv2.rectangle(mask, (int(cx - r * 0.35), int(cy + r * 0.8)), (int(cx + r * 0.35), int(cy + r * 1.5)), 1.0, -1)
        torso_top = int(cy + r * 1.4)
        cv2.ellipse(mask, (int(cx), h + int(r * 0.8)), (int(r * 2.6), int(h - torso_top + r * 0.8)), 0, 180, 360, 1.0,
                    -1, cv2.LINE_AA)
        for side in (-1, 1):
            angle = np.pi / 2 + side * (0.35 + self.arm_swing * np.sin(2 * np.pi * t / self.period + side))
            shoulder = (int(cx + side * r * 2.0), torso_top + int(r * 0.5))
            hand = (int(shoulder[0] + side * abs(np.cos(angle)) * r * 2.8), int(shoulder[1] + np.sin(angle) * r * 2.8))
            cv2.line(mask, shoulder, hand, 1.0, max(2, int(r * 0.55)), cv2.LINE_AA)
        hair = np.zeros_like(mask)
        for angle, length, opacity in self.strands:  # thin strands with fractional alpha leaving the head
            start = (int(cx + np.cos(angle) * r * 0.8), int(cy + np.sin(angle) * r * 0.9))
            end = (int(cx + np.cos(angle) * r * (1.2 + length)), int(cy + np.sin(angle) * r * (1.2 + length)))
            cv2.line(hair, start, end, opacity, 1, cv2.LINE_AA)
        body = cv2.GaussianBlur(mask, (0, 0), 1.0)  # soft edges
        alpha = np.clip(np.maximum(body, hair), 0, 1)
        fg = np.where((hair > body)[..., None], self.hair, self.texture)
        return alpha.astype(np.float32), fg


def scene_clip(rng: np.random.Generator, scenario: str, frames: int, w: int, h: int):
    """Yield (camera frame RGB uint8, alpha uint8, clean foreground RGB uint8) per frame; then return the
    :class:`ClipEvents` (as the generator's return value)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}")
    events = ClipEvents(scenario, frames)
    photo = _photo(BACKGROUND_PHOTOS[int(rng.integers(len(BACKGROUND_PHOTOS)))])
    wide = _cover(photo, int(w * 1.3), h, rng, rng.uniform(1.0, 1.4))
    subject = _Subject(rng, w, h)
    sigma, quality = rng.uniform(*NOISE_SIGMA), int(rng.integers(*JPEG_QUALITY))
    home = w * rng.uniform(0.35, 0.65)
    offstage = -subject.head * 7 if rng.random() < 0.5 else w + subject.head * 7  # arms included
    event = int(rng.integers(frames // 3, 2 * frames // 3))
    for t in range(frames):
        pan = int((wide.shape[1] - w) * (0.5 + 0.5 * np.sin(t / frames * np.pi)))
        background = wide[:, pan:pan + w].astype(np.float32)
        cx = home
        if scenario == "enter":
            cx = offstage + (home - offstage) * np.clip((t - event) / 6 + 1, 0, 1) if t < event else home
            cx = offstage if t < event - 6 else cx
        elif scenario == "leave":
            cx = home + (offstage - home) * np.clip((t - event) / 6, 0, 1) if t >= event else home
        alpha, fg = subject.draw(t, cx)
        if alpha.max() < 0.01:
            events.empty.append(t)
        fgf = fg.astype(np.float32)
        if scenario == "light" and t >= event:
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            glow = 150 * np.exp(-((xx - cx) ** 2 + (yy - h * 0.35) ** 2) / (2 * (0.35 * w) ** 2))
            background = background + glow[..., None]
            fgf = fgf * 0.55  # the exposure drops against the light
        a = alpha[..., None]
        clean = a * fgf + (1 - a) * background
        noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)
        ok, jpeg = cv2.imencode(".jpg", noisy[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        camera = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1]
        yield camera, np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8), np.clip(fgf, 0, 255).astype(np.uint8)
    present = [t for t in range(frames) if t not in events.empty]
    if scenario == "enter" and present:
        events.enter = present[0]
    if scenario == "leave" and present:
        events.leave = present[-1] + 1
    if scenario == "light":
        events.light = event
    return events


def write_scene_dataset(root: str | Path, clips: int, frames: int, width: int, height: int, seed: int,
                        name: str = "scenes") -> Path:
    """``clips`` clips cycling through :data:`SCENARIOS`, in ``<root>/<name>/<clip>/{com,pha,fgr}/``, each with
    its ``events.json``; returns ``root``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for c in range(clips):
        scenario = SCENARIOS[c % len(SCENARIOS)]
        clip = root / name / f"{scenario}{c:02d}"
        for sub in ("com", "pha", "fgr"):
            (clip / sub).mkdir(parents=True, exist_ok=True)
        frames_of = scene_clip(rng, scenario, frames, width, height)
        t = 0
        while True:
            try:
                camera, alpha, fg = next(frames_of)
            except StopIteration as done:
                events = done.value
                break
            cv2.imwrite(str(clip / "com" / f"{t:04d}.png"), camera[..., ::-1])
            cv2.imwrite(str(clip / "pha" / f"{t:04d}.png"), alpha)
            cv2.imwrite(str(clip / "fgr" / f"{t:04d}.png"), fg[..., ::-1])
            t += 1
        (clip / "events.json").write_text(json.dumps(asdict(events), indent=1) + "\n")
    (root / name / MARKER).write_text(f"edgematte's synthetic scenes: {clips} clips of {frames} frames, "
                                      f"{width}x{height}, seed {seed}; a drawn figure, not a person\n")
    return root
