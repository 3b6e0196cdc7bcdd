"""``edgematte run``: the bundle's own app, unchanged, on a video file or webcam, against the stand-in of its
device family's API (the app's record, :mod:`edgematte.apps`, says which): ``skill/main.py`` on the ``hilens``
stand-in (HiLens Kit), ``app/main.py`` on the ``acl`` stand-in (the CANN boards). Inputs are checked before the
app starts; the output video is written to a temporary file and renamed into place, and it is closed (and
playable) however the run ends."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2

from edgematte.bundle import Bundle
from edgematte.devices import DEVICES
from edgematte.errors import BundleError, EdgematteError, OutputExistsError
from edgematte.output_files import check_output_file, partial_name
from edgematte.hilens_skill import MODES
from edgematte.video import has_audio



class RunError(EdgematteError):
    pass


@dataclass
class VideoInfo:
    source: str | int
    width: int
    height: int
    fps: float
    frames: int  # 0 when unknown (webcam)


@dataclass
class RunResult:
    output: Path
    frames: int
    fps: float
    width: int
    height: int
    mode: str
    seconds: float
    audio: bool
    skipped_frames: int = 0
    log: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the skill ended early, if it did

    def to_dict(self) -> dict:
        return {"output": str(self.output), "frames": self.frames, "fps": self.fps, "width": self.width,
                "height": self.height, "mode": self.mode, "seconds": round(self.seconds, 3), "audio": self.audio,
                "skipped_frames": self.skipped_frames, "ms_per_frame": round(1000 * self.seconds / max(self.frames, 1), 2),
                "stopped": self.stopped}

    def log_tail(self) -> list[str]:
        """The skill's last timing line and its closing lines."""
        return [line for line in self.log if "ms/frame" in line][-1:] + self.log[-2:]

    def summary(self) -> str:
        return (f"Wrote {self.output}: {self.frames} frames, {self.width}x{self.height} at {self.fps:g} fps, "
                f"{'with' if self.audio else 'no'} audio, mode {self.mode} "
                f"({1000 * self.seconds / self.frames:.1f} ms per frame)")


def parse_source(text: str) -> str | int:
    m = re.fullmatch(r"webcam:(\d+)", text)
    if m:
        return int(m.group(1))
    if not Path(text).exists():
        raise RunError(f"input {text} does not exist; give a video file or webcam:N")
    return text


def probe_input(source: str | int, min_frame: int = 0) -> VideoInfo:
    """The source's size, rate and length; ``min_frame``: the smallest side the app's scaler takes."""
    cap = cv2.VideoCapture(source)
    try:
        ok = cap.isOpened() and cap.read()[0]
        if not ok:
            what = f"webcam {source}" if isinstance(source, int) else f"video {source}"
            raise RunError(f"cannot open {what}: no frame could be decoded (not a video, an unsupported codec, "
                           f"or no camera at that index)")
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width < min_frame or height < min_frame:
            raise RunError(f"{source} has {width}x{height} frames; the app's scaler needs at least "
                           f"{min_frame}x{min_frame}")
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if isinstance(source, str) else 0
        return VideoInfo(source, width, height, fps if 1 <= fps <= 240 else 25.0, frames)
    finally:
        cap.release()


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as e:
            raise RunError(f"--preview port {port} on {host} cannot be used ({e.strerror or e}); choose another "
                           f"port") from None


def check_background(text: str) -> str:
    if text == "blur":
        return text
    if text.startswith("#"):
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", text):
            raise RunError(f"background colour {text} must be #rrggbb, e.g. #00ff00")
        return text.lower()
    path = Path(text)
    if not path.exists():
        raise RunError(f"background {text} does not exist; give an image file, #rrggbb or blur")
    if cv2.imread(str(path)) is None:
        raise RunError(f"background {text} is not an image OpenCV can read; give a .png or .jpg, #rrggbb or blur")
    return str(path.resolve())


def run_bundle(bundle: Bundle, app, source: str, *, background: str = "blur", output: str | Path = "out.mp4",
               mode: str = "composite", max_frames: int | None = None, force: bool = False,
               rgba_dir: str | Path | None = None, on_frame: Callable[[], None] | None = None,
               log: Callable[[str], None] | None = None, int8: bool = False,
               preview: int | None = None, pace_npu_ms: float | None = None) -> RunResult:
    """Run ``bundle``'s app (``app``: its record, :mod:`edgematte.apps`) once every input is checked."""
    bundle.require(app.role, "onnx", "aipp", why="run needs a device bundle: edgematte export --to om [--device ...]")
    app.refuse_run_options(bundle.folder, preview=preview, rgba_dir=rgba_dir)
    if preview is not None:
        check_port_free(preview)
    if int8 and not bundle.has("onnx_int8"):
        raise BundleError(f"{bundle.folder} has no INT8 model; export it with --int8")
    if mode not in MODES:
        raise RunError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    src = parse_source(source)
    family = DEVICES[bundle.manifest.device]
    info = probe_input(src, min(family.resize_range[0]) if family.resize_range else 0)
    background = check_background(background)
    output = check_output_file(Path(output), force, inputs=[src if isinstance(src, str) else None,
                                                            background if background != "blur" else None],
                               suffixes=(".mp4",), what="--output")
    if rgba_dir is not None and Path(rgba_dir).exists() and not Path(rgba_dir).is_dir():
        raise OutputExistsError(f"--rgba-dir {rgba_dir} exists and is not a folder; choose another name")
    if rgba_dir is not None and Path(rgba_dir).exists() and any(Path(rgba_dir).iterdir()) and not force:
        raise OutputExistsError(f"{rgba_dir} is not empty; pass --force to write into it")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(output)
    lines: list[str] = []

    def record(line: str) -> None:
        lines.append(line)
        if log:
            log(line)

    if pace_npu_ms is not None and not (pace_npu_ms > 0):
        raise RunError(f"--pace-npu {pace_npu_ms:g} is not a time: give the milliseconds an inference takes, e.g. 20")
    return app.run(bundle, src, tmp, output, info, background=background, mode=mode, max_frames=max_frames,
                   preview=preview, rgba_dir=rgba_dir, on_frame=on_frame, record=record, lines=lines, int8=int8,
                   pace_npu_ms=pace_npu_ms)


def run_skill(bundle: Bundle, src: str | int, tmp: Path, output: Path, info: VideoInfo, *, background: str,
              mode: str, max_frames: int | None, rgba_dir, on_frame, record, lines: list[str], int8: bool,
              pace_npu_ms: float | None = None, **_) -> RunResult:
    """The bundle's HiLens skill on the ``hilens`` stand-in, writing ``tmp`` (renamed to ``output`` when it
    holds frames)."""
    from edgematte.standin import run_skill, start

    hilens = start(bundle, source=src, output=tmp, skill_config={"background": background, "mode": mode},
                   max_frames=max_frames, audio_from=src if isinstance(src, str) else None, fps=info.fps,
                   rgba_dir=Path(rgba_dir) if rgba_dir else None, on_frame=on_frame, log=record, int8=int8,
                   workspace=Path(os.environ.get("TMPDIR", "/tmp")) / "edgematte-workspace", pace_npu_ms=pace_npu_ms)
    began = time.perf_counter()
    stopped = run_skill(hilens)
    seconds = time.perf_counter() - began
    session = hilens.session()
    if session.frames_shown == 0:
        tmp.unlink(missing_ok=True)
        raise RunError(f"no frame was shown ({stopped or 'the skill ended at once'}); nothing written. "
                       f"Last log lines: {' | '.join(lines[-3:])}")
    os.replace(tmp, output)
    width, height = session.shown_size
    result = RunResult(output, session.frames_shown, info.fps, width, height, mode, seconds, has_audio(output),
                       session.skipped_frames, lines, stopped)
    if stopped:
        raise RunError(f"{stopped}; the {result.frames} frames shown so far are in {output}")
    return result


def run_acl_app(bundle: Bundle, src: str | int, tmp: Path, output: Path, info: VideoInfo, *, background: str,
                mode: str, max_frames: int | None, preview: int | None, on_frame, record, lines: list[str], int8: bool,
                pace_npu_ms: float | None = None, **_) -> RunResult:
    """The bundle's AscendCL app on the ``acl`` stand-in, writing ``tmp`` (renamed to ``output`` when it holds frames)."""
    from edgematte.standin import run_app, start_app

    argv = ["--input", str(src), "--output", str(tmp), "--mode", mode, "--background", background]
    argv += ["--max-frames", str(max_frames)] if max_frames else []
    argv += ["--preview", str(preview), "--preview-host", "127.0.0.1"] if preview is not None else []
    acl = start_app(bundle, log=record, int8=int8, on_frame=on_frame, pace_npu_ms=pace_npu_ms)
    began = time.perf_counter()
    _, stopped = run_app(acl, argv)
    seconds = time.perf_counter() - began
    cap = cv2.VideoCapture(str(tmp)) if tmp.exists() else None
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap is not None and cap.isOpened() else 0
    width, height = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) if frames else (0, 0)
    if cap is not None:
        cap.release()
    if frames == 0:
        tmp.unlink(missing_ok=True)
        raise RunError(f"no frame was written ({stopped or 'the app ended at once'}); nothing written. "
                       f"Last log lines: {' | '.join(lines[-3:])}")
    os.replace(tmp, output)
    result = RunResult(output, frames, info.fps, width, height, mode, seconds, False, 0, lines, stopped)
    if stopped:
        raise RunError(f"{stopped}; the {frames} frames written so far are in {output}")
    return result
