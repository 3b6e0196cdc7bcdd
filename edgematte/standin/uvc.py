"""A USB (UVC) camera as OpenCV's V4L2 backend presents it, playing a video file: for the tests and ``bench``,
which have no camera. It stands in for ``cv2.VideoCapture(index)`` and follows OpenCV's ``cap_v4l.cpp``
(modules/videoio/src, 4.x):

- on opening, the backend tries pixel formats in a fixed order that puts YUYV before MJPEG, at 640x480;
- ``set(CAP_PROP_FOURCC, f)`` switches to ``f`` when the camera has it (True), else keeps the old one (False);
- width and height take effect once both are set, as the nearest size the camera has for the format (the
  driver's VIDIOC_S_FMT answer);
- with ``CAP_PROP_CONVERT_RGB`` off, an MJPEG frame comes as one row of its JPEG's bytes (``bytesused`` long),
  otherwise decoded to BGR;
- ``read`` waits for the camera's next frame, at its frame rate.

Like many UVC cameras, it can leave the Huffman tables out of its MJPEG frames (``huffman_tables=False``): the
MJPEG payload format lets a frame rely on ITU T.81 Annex K's tables.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from edgematte.standin.dvpp import header_segments

MJPG, YUYV = cv2.VideoWriter_fourcc(*"MJPG"), cv2.VideoWriter_fourcc(*"YUYV")
OPENING = (YUYV, (640, 480))  # cap_v4l.cpp: autosetup's order tries YUYV before MJPEG; DEFAULT_V4L_WIDTH/HEIGHT
TYPICAL_MODES = {MJPG: ((640, 480), (1280, 720), (1920, 1080)), YUYV: ((640, 480),)}  # a common 1080p webcam


class UvcCamera:
    """``cv2.VideoCapture(index)`` of a camera with ``modes`` (fourcc -> its sizes), playing ``video``'s frames
    scaled to the size set, as MJPEG of ``quality``."""

    def __init__(self, video: str, modes=TYPICAL_MODES, huffman_tables: bool = False, quality: int = 85,
                 fps: float = 30.0, broken_every: int = 0):
        """``broken_every``: every so many frames, send one cut short after its header (a USB glitch)."""
        self._video, self._modes, self._tables, self._quality, self._fps = cv2.VideoCapture(video), modes, \
            huffman_tables, quality, fps
        self._broken_every, self._last, self._due = broken_every, None, None
        self.palette, self.size = OPENING
        self.convert_rgb, self._asked = True, [None, None]
        self.sent: list[np.ndarray] = []  # each frame's BGR picture before its JPEG (tests compare with it)

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's names)
        return self._video.isOpened()

    def release(self) -> None:
        self._video.release()

    def _nearest(self, fourcc: int, want: tuple[int, int]) -> tuple[int, int]:
        return min(self._modes[fourcc], key=lambda s: abs(s[0] - want[0]) + abs(s[1] - want[1]))

    def set(self, prop: int, value: float) -> bool:
        if prop == cv2.CAP_PROP_FOURCC:
            if int(value) not in self._modes:
                return False
            self.palette, self.size = int(value), self._nearest(int(value), self.size)
            return True
        if prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            self._asked[prop == cv2.CAP_PROP_FRAME_HEIGHT] = int(value)
            if None not in self._asked:
                self.size, self._asked = self._nearest(self.palette, tuple(self._asked)), [None, None]
            return True
        if prop == cv2.CAP_PROP_CONVERT_RGB:
            self.convert_rgb = bool(value)
            return True
        return False

    def get(self, prop: int) -> float:
        return float({cv2.CAP_PROP_FOURCC: self.palette, cv2.CAP_PROP_FRAME_WIDTH: self.size[0],
                      cv2.CAP_PROP_FRAME_HEIGHT: self.size[1], cv2.CAP_PROP_FPS: self._fps,
                      cv2.CAP_PROP_CONVERT_RGB: self.convert_rgb}.get(prop, -1.0))

    def read(self):
        now = time.monotonic()
        if self._due is not None and now < self._due:
            time.sleep(self._due - now)
        self._due = max(now, self._due or now) + 1.0 / self._fps
        ok, frame = self._video.read()
        if not ok:
            return False, None
        frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self.sent.append(frame)
        if self.palette == YUYV:
            if not self.convert_rgb:
                raise NotImplementedError("the stand-in camera sends YUYV converted to BGR only")
            return True, frame
        jpeg = mjpeg_frame(frame, self._quality, self._tables)
        if self._broken_every and len(self.sent) % self._broken_every == 0:
            jpeg = jpeg[:100]  # cut inside its header
        if self.convert_rgb:  # cap_v4l.cpp decodes into the frame it returns: a frame that fails leaves the last
            decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
            self._last = decoded if decoded is not None else self._last
            return True, self._last
        return True, jpeg.reshape(1, -1)


def mjpeg_frame(bgr: np.ndarray, quality: int, huffman_tables: bool) -> np.ndarray:
    """A camera's MJPEG frame of ``bgr`` (4:2:0, baseline), without its DHT segments unless ``huffman_tables``."""
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    data = jpeg.tobytes()
    if not huffman_tables:
        segments = header_segments(data)
        data = data[:2] + b"".join(data[start:end] for marker, start, end in segments if marker != 0xC4) + \
            data[segments[-1][2]:]
    return np.frombuffer(data, np.uint8).copy()
