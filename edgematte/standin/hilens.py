"""Stand-in for the HiLens Framework's ``hilens`` module (Python API of the HiLens Kit), on the CPU.

It behaves as the device does where a skill can tell (facts: ascend-hilens-facts.md §5):
``VideoCapture.read`` returns NV21 (H·3/2, W) uint8 and raises RuntimeError when frames run out;
``Preprocessor.resize/crop`` take NV21, need even source and output sizes within the Kit's scaler range
(the same table for both) and raise ValueError;
``Model.infer`` takes uint8/float32 arrays, runs the bundle's network (its ONNX with the AIPP emulator in
front: :mod:`edgematte.standin.network`), and returns a list of flat float32 arrays, or the int 17 when an input's size is wrong;
``cvt_color`` knows only the four RGB/BGR -> NV12/NV21 codes; ``Display`` writes a video file.

A run is described by a :class:`StandinSession` given to :func:`configure` before the skill starts
(:func:`edgematte.standin.start` does both). With ``time_calls`` the session times each device call per
frame (:attr:`StandinSession.frame_ms`), which is how ``edgematte bench`` times the skill's loop.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from edgematte.devices import HILENS_SKILL, families_running

_KIT = families_running(HILENS_SKILL)[0]  # the family whose boards run the hilens module

# -- constants the device module has ------------------------------------------------------------------
TRACE, DEBUG, INFO, WARNING, ERROR, FATAL = range(6)
HDMI, RTMP, H264_FILE = "HDMI", "RTMP", "H264_FILE"
RGB2YUV_NV12, RGB2YUV_NV21, BGR2YUV_NV12, BGR2YUV_NV21 = range(4)
INPUT_SIZE_MISMATCH = 17  # what Model.infer returns when an input has the wrong number of bytes


class CreateError(Exception):
    """Raised by Model for a path the framework cannot load."""


class ContractError(RuntimeError):
    """A call the real framework would reject, crash on, or silently drop. ``edgematte run`` stops the skill
    with it; the message names the skill's line. The rules and their sources: docs/skill.md."""


def _violation(what: str, device: str) -> ContractError:
    """``what`` the skill did, and what the ``device`` would do, at the first caller outside this module."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    where = f" at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}" if frame is not None else ""
    return ContractError(f"{what}{where}: on the device {device}")


# hilens.init takes letters and digits only (HiLens Framework hilens.cpp); any other value returns this.
# The device returns its INVALID_PARAM code (include/errors.h); only "non-zero" is relied on here.
INIT_REFUSED = 1
LOG_LIMIT = 255  # log.cpp: longer messages fail vsnprintf_s and are dropped
# The Kit's scaler bounds and HDMI size, from its device record (sources there).
(RESIZE_MIN, RESIZE_MAX), HDMI_MAX = _KIT.resize_range, _KIT.display_max


@dataclass
class StandinSession:
    """What the device would provide: the camera, the attached model, the config, the display."""

    source: str | int                      # video file, or webcam index
    bundle: object                         # the edgematte.bundle.Bundle; get_model_dir() is its folder
    output: Path | None = None             # what Display(HDMI) writes (mp4, via ffmpeg)
    skill_config: dict = field(default_factory=dict)
    workspace: Path | None = None
    max_frames: int | None = None
    audio_from: str | None = None          # a file whose audio track is copied into the output
    fps: float = 25.0
    int8: bool = False                     # Model runs the bundle's INT8 ONNX instead of its FP32 one
    runner: object = None                  # Model runs this (infer(feed) -> outputs) instead of the bundle's ONNX
    pace_npu_ms: float | None = None       # each infer of the matting model takes at least this long (a board's NPU)
    rgba_dir: Path | None = None           # also write each frame as an RGBA PNG (frame + alpha)
    on_frame: Callable[[], None] | None = None  # called after each Display.show (progress bars)
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
    # filled in while running
    frames_read: int = 0
    frames_shown: int = 0
    skipped_frames: int = 0
    initialised: bool = False
    terminated: bool = False
    last_frame: np.ndarray | None = None
    last_alpha: np.ndarray | None = None
    displays: list = field(default_factory=list)
    shown_size: tuple | None = None        # (width, height) of the frames Display.show showed
    time_calls: bool = False               # record frame_ms (bench's loop)
    frame_ms: list = field(default_factory=list)  # per frame: device call -> ms, and "frame": read start to show end
    _frame_start: float = 0.0


def _timed(stage: str):
    """Add the call's duration to the current frame's record under ``stage`` (a new frame starts at read)."""
    def wrap(method):
        def timed(*args, **kwargs):
            s = session()
            if not s.time_calls:
                return method(*args, **kwargs)
            start = time.perf_counter()
            key = getattr(args[0], "stage_prefix", "") + stage if args else stage  # the refiner's: "refiner_infer"
            if stage == "read":
                s._frame_start = start
                s.frame_ms.append({})
            try:
                return method(*args, **kwargs)
            finally:
                end = time.perf_counter()
                if s.frame_ms:
                    record = s.frame_ms[-1]
                    record[key] = record.get(key, 0.0) + 1000 * (end - start)
                    if stage == "show":
                        record["frame"] = 1000 * (end - s._frame_start)
        return timed
    return wrap


_session: StandinSession | None = None
_level = INFO


def configure(session: StandinSession) -> StandinSession:
    global _session
    _session = session
    return session


def session() -> StandinSession:
    if _session is None:
        raise RuntimeError("the hilens stand-in is not configured: run the skill with `edgematte run`")
    return _session


# -- framework ------------------------------------------------------------------------------------------
def init(verify: str) -> int:
    if not isinstance(verify, str) or not re.fullmatch(r"[A-Za-z0-9]+", verify):
        _emit(ERROR, f"hilens stand-in: init refused the check value {verify!r}: letters and digits only")
        return INIT_REFUSED
    session().initialised = True
    _emit(INFO, f"hilens stand-in: init({verify!r})")
    return 0


def terminate() -> int:
    s = session()
    for display in s.displays:
        display.close()
    s.terminated = True
    return 0


def set_log_level(level: int) -> None:
    global _level
    _level = level


def _logger(level: int, name: str):
    def log(msg) -> None:
        # wrapper.cpp hands msg to C as a printf format with no arguments: a % conversion in it is
        # undefined behaviour (%s can crash); log.cpp drops messages over 255 characters.
        if not isinstance(msg, str):
            raise _violation(f"hilens.{name.lower()}() was given a {type(msg).__name__}", "the SWIG wrapper takes "
                             "str only and raises")
        if re.search(r"%(?!%)", msg.replace("%%", "")):
            raise _violation(f"hilens.{name.lower()}() message {msg[:60]!r} holds a % conversion",
                             "it is a printf format string with no arguments: undefined behaviour (escape % as %%)")
        if len(msg) > LOG_LIMIT:
            raise _violation(f"hilens.{name.lower()}() message of {len(msg)} characters",
                             f"messages over {LOG_LIMIT} characters are dropped")
        _emit(level, msg.replace("%%", "%"))
    return log


_NAMES = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "FATAL")


def _emit(level: int, text: str) -> None:
    """What the device's log shows; the stand-in's own messages come straight here."""
    if level >= _level:
        session().log(f"[{_NAMES[level]}] {text}")


trace, debug, info, warning, error, fatal = (_logger(i, n) for i, n in enumerate(_NAMES))


def get_model_dir() -> str:
    return str(session().bundle.folder.resolve()) + os.sep


def get_workspace_path() -> str:
    s = session()
    path = s.workspace or (s.bundle.folder / "workspace")
    path.mkdir(parents=True, exist_ok=True)
    return str(path) + os.sep


def get_skill_config():
    """json.loads of the workspace's skill_config.json on the device, or None when there is none."""
    config = session().skill_config
    return None if config is None else json.loads(json.dumps(config))


# -- colour ---------------------------------------------------------------------------------------------
def cvt_color(src: np.ndarray, code: int) -> np.ndarray:
    """RGB/BGR uint8 H×W×3 (even sizes) -> NV12/NV21 (H·3/2, W), the only conversions the device offers."""
    from edgematte.aipp import rgb_to_yuv420sp

    if code not in (RGB2YUV_NV12, RGB2YUV_NV21, BGR2YUV_NV12, BGR2YUV_NV21):
        raise ValueError(f"cvt_color: unsupported code {code}")
    rgb = src if code in (RGB2YUV_NV12, RGB2YUV_NV21) else src[..., ::-1]
    return rgb_to_yuv420sp(np.ascontiguousarray(rgb), "NV21" if code in (RGB2YUV_NV21, BGR2YUV_NV21) else "NV12")


def _nv21_to_bgr(nv21: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(nv21, cv2.COLOR_YUV2BGR_NV21)


# -- camera -----------------------------------------------------------------------------------------------
class VideoCapture:
    """The session's video (or a given file / webcam index) as NV21 frames of even size."""

    MAX_SKIPPED = 5  # undecodable frames skipped in a row before the stream counts as ended

    def __init__(self, source=None, width: int | None = None, height: int | None = None):
        s = session()
        camera = source in (None, "")
        self._source = s.source if camera else source
        self._cap = cv2.VideoCapture(self._source)
        if not self._cap.isOpened():
            raise RuntimeError(f"cannot open video source {self._source!r}")
        if camera:  # local_camera.cpp: the built-in camera is fixed at 1280x720 NV21, whatever the video here is
            width, height = s.bundle.spec.camera_width, s.bundle.spec.camera_height
        w = width or int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = height or int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.width, self.height = w - w % 2, h - h % 2
        self._total = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if isinstance(self._source, str) else 0
        self._index = 0

    @_timed("read")
    def read(self) -> np.ndarray:
        s = session()
        if s.max_frames is not None and s.frames_read >= s.max_frames:
            raise RuntimeError(f"no more frames (--max-frames {s.max_frames})")
        ok, bgr = self._cap.read()
        skipped = 0
        while not ok and self._index + skipped < self._total and skipped < self.MAX_SKIPPED:
            skipped += 1  # a frame that does not decode: skip it, as the device's decoder drops it
            ok, bgr = self._cap.read()
        if not ok:
            raise RuntimeError(f"no more frames after {self._index} (source {self._source!r})")
        if skipped:
            s.skipped_frames += skipped
            _emit(WARNING, f"skipped {skipped} undecodable frame(s) at frame {self._index}")
        self._index += 1 + skipped
        s.frames_read += 1
        if bgr.shape[:2] != (self.height, self.width):
            bgr = cv2.resize(bgr, (self.width, self.height), interpolation=cv2.INTER_AREA)
        frame = cvt_color(bgr, BGR2YUV_NV21)
        s.last_frame = frame
        return frame


# -- preprocessing ----------------------------------------------------------------------------------------
def _check_nv21(src: np.ndarray) -> tuple[int, int]:
    if src.dtype != np.uint8 or src.ndim != 2 or src.shape[0] % 3:
        raise ValueError(f"Preprocessor: expected NV21 uint8 (H*3/2, W), got {src.dtype} {src.shape}")
    return src.shape[1], src.shape[0] * 2 // 3


def _check_size(w: int, h: int, what: str = "size") -> None:
    (min_w, min_h), (max_w, max_h) = RESIZE_MIN, RESIZE_MAX
    if w % 2 or h % 2 or not (min_w <= w <= max_w and min_h <= h <= max_h):
        raise ValueError(f"Preprocessor: {what} {w}x{h} must be even, width in [{min_w}, {max_w}], "
                         f"height in [{min_h}, {max_h}]")


def _to_format(nv21: np.ndarray, t: int) -> np.ndarray:
    if t == 0:
        return nv21
    h = nv21.shape[0] * 2 // 3
    out = nv21.copy()
    out[h:] = nv21[h:].reshape(h // 2, -1, 2)[..., ::-1].reshape(h // 2, -1)
    return out


class Preprocessor:
    @_timed("resize")
    def resize(self, src: np.ndarray, w: int, h: int, t: int = 0) -> np.ndarray:
        sw, sh = _check_nv21(src)
        _check_size(sw, sh, "source size")  # the source has the same range as the output (the Kit's table)
        _check_size(w, h)
        y = cv2.resize(src[:sh], (w, h), interpolation=cv2.INTER_LINEAR)
        vu = cv2.resize(src[sh:].reshape(sh // 2, sw // 2, 2), (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
        return _to_format(np.concatenate([y, vu.reshape(h // 2, w)]), t)

    def crop(self, src: np.ndarray, x: int, y: int, w: int, h: int, t: int = 0) -> np.ndarray:
        sw, sh = _check_nv21(src)
        _check_size(sw, sh, "source size")
        _check_size(w, h)
        if x % 2 or y % 2 or x + w > sw or y + h > sh:
            raise ValueError(f"Preprocessor: crop {w}x{h}+{x}+{y} must be even and inside {sw}x{sh}")
        luma = src[y:y + h, x:x + w]
        vu = src[sh + y // 2:sh + (y + h) // 2, x:x + w]
        return _to_format(np.ascontiguousarray(np.concatenate([luma, vu])), t)


# -- model ------------------------------------------------------------------------------------------------
class Model:
    """The attached ``.om``, stood in for by the bundle's network (:mod:`edgematte.standin.network`)."""

    def __init__(self, path: str):
        from edgematte.standin.network import StandinNetwork, StandinNetworkError

        s = session()
        if not os.path.dirname(path):
            raise CreateError(f"model path {path!r} must not be a bare file name (use get_model_dir() + name)")
        try:
            network = StandinNetwork.at(s.bundle, path, s.int8, s.runner, s.pace_npu_ms)
        except StandinNetworkError as e:
            raise CreateError(f"{e} (standing in for {path!r})") from None
        if network is None:
            raise CreateError(f"no model at {path!r} (the stand-in stands in for the bundle's "
                              f"{' and '.join(StandinNetwork.om_files(s.bundle))} only)")
        self._network = network
        self._main = network.network is s.bundle  # the matting model; else the refiner
        self.stage_prefix = "" if self._main else "refiner_"  # bench's loop times the two models apart
        network.emulate_aipp = self._emulate_aipp  # timed apart (bench)

    @_timed("infer")
    def infer(self, inputs: list):
        # model_impl.cpp / numpy.i: a list of 1-D uint8 or float32 arrays, matched to the inputs by byte size
        if not isinstance(inputs, list):
            raise _violation(f"Model.infer was given a {type(inputs).__name__}", "it takes a list of 1-D arrays")
        for rank, array in enumerate(inputs):
            if not isinstance(array, np.ndarray) or array.ndim != 1:
                shape = getattr(array, "shape", type(array).__name__)
                raise _violation(f"Model.infer input {rank} is {shape}", "inputs must be 1-D numpy arrays "
                                 "(flatten() them)")
            if array.dtype not in (np.uint8, np.float32):
                raise _violation(f"Model.infer input {rank} is {array.dtype}", "only uint8 and float32 are taken")
        network = self._network
        if len(inputs) != len(network.inputs):
            _emit(ERROR, f"infer: {len(inputs)} inputs given, the model has {len(network.inputs)}")
            return INPUT_SIZE_MISMATCH
        for rank, ((name, _), size, array) in enumerate(zip(network.inputs, network.input_bytes, inputs)):
            if array.nbytes != size:
                _emit(ERROR, f"inputTensorVec[{rank}]: {name} expects {size} bytes, got {array.nbytes}")
                return INPUT_SIZE_MISMATCH
        alpha = network.infer([np.ascontiguousarray(a).view(np.uint8) for a in inputs])[0]
        if self._main:
            session().last_alpha = alpha.reshape(alpha.shape[-2:])  # the matte at model size, for RGBA frames
        return [alpha.reshape(-1)]

    @_timed("aipp")
    def _emulate_aipp(self, rank: int, frame: np.ndarray) -> np.ndarray:
        return self._network.aipp[rank](frame)


# -- display -----------------------------------------------------------------------------------------------
class Display:
    """HDMI -> the session's output video; H264_FILE -> raw H.264 at ``path``. The first frame fixes the size."""

    def __init__(self, kind: str = HDMI, path: str | None = None):
        s = session()
        if kind == RTMP:
            raise ValueError("the stand-in has no RTMP server; use HDMI (a video file) or H264_FILE")
        if kind == H264_FILE and not path:
            raise ValueError("Display(H264_FILE) needs a file path")
        self._path = Path(path) if kind == H264_FILE else s.output
        self._raw_h264 = kind == H264_FILE
        self._writer = None
        self._size = None
        s.displays.append(self)

    def _open(self, w: int, h: int) -> None:
        from edgematte.video import H264Writer

        s = session()
        audio = ["-i", str(s.audio_from)] if s.audio_from else None
        self._writer = H264Writer(self._path, w, h, s.fps, "nv21", audio, raw=self._raw_h264)
        self._size = (w, h)

    @_timed("show")
    def show(self, frame: np.ndarray) -> int:
        s = session()
        frame = np.ascontiguousarray(frame, np.uint8)
        h, w = frame.shape[0] * 2 // 3, frame.shape[1]
        if w > HDMI_MAX[0] or h > HDMI_MAX[1]:  # the HDMI mode is fixed at 1080p: such a frame is not shown
            _emit(ERROR, f"Display: frame {w}x{h} is larger than the HDMI output's {HDMI_MAX[0]}x{HDMI_MAX[1]}")
            return 1
        if self._size is None:
            if w < 128 or h < 128:
                _emit(ERROR, f"Display: {w}x{h} is smaller than 128x128")
                return 1
            if self._path is not None:
                self._open(w, h)
        elif (w, h) != self._size:
            _emit(ERROR, f"Display: frame {w}x{h} differs from the first frame's {self._size[0]}x{self._size[1]}")
            return 1
        s.shown_size = (w, h)
        if self._writer is not None:
            self._writer.write(frame)
        if s.rgba_dir is not None and s.last_frame is not None and s.last_alpha is not None:
            self._write_rgba(s, s.frames_shown)
        s.frames_shown += 1
        if s.on_frame:
            s.on_frame()
        return 0

    @staticmethod
    def _write_rgba(s: StandinSession, index: int) -> None:
        frame = s.last_frame
        fh, fw = frame.shape[0] * 2 // 3, frame.shape[1]
        a = np.clip(cv2.resize(s.last_alpha, (fw, fh), interpolation=cv2.INTER_LINEAR) * 255 + 0.5, 0, 255)
        bgra = np.dstack([_nv21_to_bgr(frame), a.astype(np.uint8)])
        s.rgba_dir.mkdir(parents=True, exist_ok=True)
        tmp = s.rgba_dir / f".{index:06d}.partial.png"  # renamed into place only when complete
        cv2.imwrite(str(tmp), bgra)
        os.replace(tmp, s.rgba_dir / f"{index:06d}.png")

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
