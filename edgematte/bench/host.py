"""The host CPU each generated app spends per camera frame, stage by stage, measured on this machine.

On the boards the NPU is fast and the ARM cores are small and few, so the per-pixel work the app's own Python
does on the host is what bounds the frame rate. This times *the apps' own code*: each app's template is
rendered for a family that runs it and loaded against its device API's stand-in module, and its functions run on
synthetic camera frames (a smooth picture and a matte with soft edges) at 720p and 1080p, in every mode, with
the preview's JPEG on and off. The work the device does on its own units is not counted: the camera's NV21
frames and the Kit's scaler (``Preprocessor``), DVPP's JPEG decoder (JPEGD), scaler (VPC) and JPEG encoder
(JPEGE), AIPP, the network, HDMI.

The clock is the thread's CPU time with OpenCV held to one thread (``cv2.setNumThreads(1)``): what one core
spends, which the load of a shared machine does not inflate. Medians over ``frames`` runs after a warm-up.
"""

from __future__ import annotations

import runpy
import sys
import time

import cv2
import numpy as np

from edgematte.bench.stats import LatencyStats

SIZES = ((1280, 720), (1920, 1080))
MODES = ("composite", "alpha", "side-by-side")
CLOCK = "thread CPU time, one thread (cv2.setNumThreads(1)), median per frame"
MJPEG_QUALITY = 90  # a UVC camera's MJPEG frames (DVPP's JPEGD decodes them; OpenCV, when asked or refused)


class _DeviceScaler:
    """The Kit's scaler (hilens.Preprocessor, on the chip): its pictures cost the host nothing."""

    @staticmethod
    def resize(frame, w, h, _t=0):
        return np.empty((h * 3 // 2, w), np.uint8)


def _load_app(app, spec, family) -> dict:
    """The app's rendered file, run as a module (not ``__main__``) against its device API's stand-in."""
    import tempfile
    from pathlib import Path

    from edgematte.standin import FOLDER

    source = app.render(spec, family)
    with tempfile.TemporaryDirectory(prefix="edgematte-host-") as tmp:
        path = Path(tmp) / "main.py"
        path.write_text(source)
        sys.path.insert(0, str(FOLDER))
        try:
            return runpy.run_path(str(path), run_name="edgematte_host_cpu")
        finally:
            sys.path.remove(str(FOLDER))


def _scene(width: int, height: int, net: tuple[int, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    frame = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2), (width, height), interpolation=cv2.INTER_LINEAR)
    yy, xx = np.mgrid[0:net[1], 0:net[0]].astype(np.float32)
    alpha = np.clip(1.5 - np.hypot((xx - net[0] / 2) / (0.3 * net[0]), (yy - net[1] * 0.6) / (0.5 * net[1])) * 1.5,
                    0, 1).astype(np.float32)  # a head-and-shoulders blob with a soft edge
    return frame, alpha


def _time(stages: dict, frames: int, warmup: int) -> dict:
    """``stages``: name -> zero-argument function, run in order per frame; each one's median CPU ms."""
    samples = {name: [] for name in stages}
    for i in range(warmup + frames):
        for name, run in stages.items():
            start = time.thread_time()
            run()
            if i >= warmup:
                samples[name].append(1000.0 * (time.thread_time() - start))
    return {name: LatencyStats.of(v).p50 for name, v in samples.items()}


def _skill_stages(m: dict, frame_bgr, alpha, width: int, height: int, mode: str, spec) -> dict:
    """The HiLens skill's host work per frame: the previous alpha's rules on the Y plane, and the composite."""
    hilens = m["hilens"]  # the stand-in, as the skill imported it
    nv21 = hilens.cvt_color(frame_bgr, hilens.BGR2YUV_NV21)  # what the Kit's camera hands the skill
    luma = cv2.resize(nv21[:height], (spec.width, spec.height))  # the Y plane of what the Kit's scaler gives
    background = m["Background"]("blur", width, height)
    return {"feedback": _feedback(m["PreviousAlpha"](spec.width, spec.height), luma, alpha),
            "composite": lambda: m["composite"](mode, nv21, background, alpha, _DeviceScaler, width, height)}


def _feedback(previous, luma, alpha):
    """One frame of the previous alpha's rules: the cut check on ``luma``, then keeping ``alpha``."""
    def run():
        previous.feed(luma)
        previous.keep(alpha)
    return run


def _upload(picture: np.ndarray):
    """The host's part of handing DVPP a picture: the app's bytes of it and the copy into DVPP memory (two copies;
    on a board whose memcpy is a DMA the second is not the CPU's, so this is an upper bound)."""
    return lambda: bytearray(np.ascontiguousarray(picture).tobytes())


def _graph_output(width: int, height: int):
    """The host's work per frame were the blend an op of the om graph: its frame-sized NCHW float32 result copied
    back and made the NV21 picture the output takes (per channel to 8 bits, B,G,R merged, converted)."""
    from edgematte.pictures import bgr_to_nv21

    rng = np.random.default_rng(0)
    result = (rng.random((3, height, width), dtype=np.float32) * 255.0).reshape(-1)

    def run():
        planes = np.frombuffer(bytearray(result.tobytes()), np.float32).reshape(3, height, width)
        bgr_to_nv21(cv2.merge([cv2.convertScaleAbs(plane) for plane in planes[::-1]]))
    return run


def _jpegd_host(m: dict, frame, width: int, height: int):
    """The host's part of DVPP's decode of a USB camera's MJPEG frame (the app's ``JpegDecoder``): the standard
    Huffman tables put in where the camera left them out, the JPEG's bytes handed to DVPP (a copy), the decoded
    picture's bytes back (a copy, strides included) and mapped to the app's range. JPEGD's own time is DVPP's."""
    from edgematte.standin.dvpp import PIXEL_FORMAT_YVU_SEMIPLANAR_420, PicDesc, jpeg_decode, write_nv
    from edgematte.standin.uvc import mjpeg_frame

    bare = mjpeg_frame(frame, MJPEG_QUALITY, huffman_tables=False).tobytes()
    tables, levels = m["standard_huffman_tables"](), m["narrow_range_levels"]()
    stride_w, stride_h = m["aligned"](width, m["JPEGD_WIDTH_ALIGN"]), m["aligned"](height, m["JPEGD_HEIGHT_ALIGN"])
    decoded = write_nv(jpeg_decode(m["with_huffman_tables"](bare, tables), PIXEL_FORMAT_YVU_SEMIPLANAR_420),
                       PicDesc(width=width, height=height, width_stride=stride_w, height_stride=stride_h))

    def run():
        bytearray(m["with_huffman_tables"](bare, tables))
        padded = np.frombuffer(bytearray(decoded), np.uint8).reshape(stride_h * 3 // 2, stride_w)
        m["narrow_nv21"](padded, width, height, levels)
    return run


def _cpu_decode(m: dict, frame):
    """OpenCV's decode of the camera's MJPEG frame and the conversion to NV21: the app's ``cpu_decode`` (with
    --camera-decode cpu, or when JPEGD refuses the camera's frames)."""
    mjpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, MJPEG_QUALITY])[1]
    return lambda: m["cpu_decode"](mjpeg)


def _app_stages(m: dict, frame, alpha, width: int, height: int, mode: str, preview: bool, spec) -> dict:
    """The AscendCL app's host work per frame: the host's part of DVPP's decode of the camera's MJPEG frame
    (capture thread); the frame's upload to DVPP, whose VPC scales it onto the network's input, and the previous
    alpha's rules (NPU thread); the NV21 composite, and while someone watches the preview the picture's upload to
    DVPP's JPEG encoder (output thread). JPEGD, VPC and JPEGE run on the chip's DVPP: not host time
    (bench/board.py adds them)."""
    nv21 = m["to_nv21"](frame)
    luma = cv2.resize(nv21[:height], (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)  # VPC's Y plane
    picture = {"out": m["composite"](nv21, alpha, None, mode)}
    stages = {"decode": _jpegd_host(m, frame, width, height),
              "upload": _upload(nv21),
              "feedback": _feedback(m["PreviousAlpha"](spec.width, spec.height), luma, alpha),
              "composite": lambda: picture.update(out=m["composite"](nv21, alpha, None, mode))}
    if preview:
        stages["preview"] = _upload(picture["out"])
    return stages


def host_cpu(spec, frames: int = 20, warmup: int = 3, sizes=SIZES, log=lambda _: None) -> dict:
    """Per app (its record's name), camera size, mode (and preview for the AscendCL app): the median CPU ms of each
    host stage and their sum."""
    from edgematte.apps import APPS
    from edgematte.devices import families_running

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    report = {"clock": CLOCK, "frames": frames, "network": [spec.width, spec.height], "apps": {},
              "graph_output_ms": {}, "cpu_decode_ms": {}}
    try:
        for width, height in sizes:  # the alternative the board simulator weighs: the blend inside the om graph
            ms = _time({"out": _graph_output(width, height)}, frames, warmup)["out"]
            report["graph_output_ms"][f"{width}x{height}"] = round(ms, 3)
        for app in APPS.values():
            module = _load_app(app, spec, families_running(app.name)[0])
            if app.device_api == "acl":  # what JPEGD saves: the camera frame's decode on the CPU, timed beside it
                for width, height in sizes:
                    ms = _time({"cpu": _cpu_decode(module, _scene(width, height, (8, 8))[0])}, frames, warmup)
                    report["cpu_decode_ms"][f"{width}x{height}"] = round(ms["cpu"], 3)
            rows = {}
            for width, height in sizes:
                frame, alpha = _scene(width, height, (spec.width, spec.height))
                for mode in MODES:
                    variants = [False] if app.device_api == "hilens" else [False, True]
                    for preview in variants:
                        log(f"host CPU: {app.title}, {width}x{height}, {mode}{', preview' if preview else ''}")
                        stages = (_skill_stages(module, frame, alpha, width, height, mode, spec)
                                  if app.device_api == "hilens" else
                                  _app_stages(module, frame, alpha, width, height, mode, preview, spec))
                        ms = _time(stages, frames, warmup)
                        key = f"{width}x{height} {mode}" + (" preview" if preview else "")
                        stage_ms = {k: round(v, 3) for k, v in ms.items()}
                        rows[key] = {"stages": stage_ms, "total": round(sum(stage_ms.values()), 3)}
            report["apps"][app.name] = rows
    finally:
        cv2.setNumThreads(threads)
    return report


def host_lines(report: dict) -> list[str]:
    """The host-CPU table as ``bench`` prints it."""
    lines = [f"host CPU per frame ({report['clock']}):"]
    for app, rows in report["apps"].items():
        for key, row in rows.items():
            stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stages"].items())
            lines.append(f"  {app:<13} {key:<28} {row['total']:6.2f} ms  ({stages})")
    return lines
