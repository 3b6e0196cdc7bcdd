"""Video encoding through the ffmpeg binary that imageio-ffmpeg ships (no system ffmpeg needed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def has_audio(path: str | Path) -> bool:
    r = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return bool(re.search(r"Stream #\S+.*: Audio:", r.stderr))


class H264Writer:
    """Raw frames (``pix_fmt``: nv21, rgb24, ...) piped into ffmpeg and encoded as H.264 (mp4, or a raw
    ``.h264`` stream with ``raw=True``). ``audio`` is ffmpeg input arguments whose audio track is copied
    in (``["-i", "clip.mp4"]``, or a lavfi source), cut to the video's length."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float, pix_fmt: str = "nv21",
                 audio: list[str] | None = None, raw: bool = False):
        self.path = Path(path)
        cmd = [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", pix_fmt,
               "-s", f"{width}x{height}", "-r", f"{fps:.6g}", "-i", "-"]
        if audio and not raw:
            cmd += [*audio, "-map", "0:v:0", "-map", "1:a?", "-c:a", "aac", "-shortest"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
        cmd += ["-f", "h264"] if raw else ["-f", "mp4", "-movflags", "+faststart"]
        self._proc = subprocess.Popen([*cmd, str(self.path)], stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        self._proc.stdin.write(np.ascontiguousarray(frame, np.uint8).tobytes())

    def close(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg could not write {self.path}: {err.splitlines()[-1] if err else 'no message'}")
