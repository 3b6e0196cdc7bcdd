# -*- coding: utf-8 -*-
"""Real-time portrait matting on the HiLens Kit: camera -> matte -> composite -> HDMI.

The model is MODNet with the previous frame's alpha as a second input: each frame's alpha is fed back into
the next inference, which keeps the matte stable over time (PreviousAlpha, in the loop core below).

Runtime settings (skill config; every key is optional, as a plain value or as {"value": ...}; a value that
cannot be used is logged and replaced by its default, DEFAULTS below):
  background       "blur", a colour "#rrggbb", or an image file (absolute, or relative to the model folder or
                   the workspace)
  background_file  an image uploaded as a console file parameter ({"from": ..., "path": ...}); when given, it
                   replaces background
  mode             "composite", "alpha" (the matte as grey), "side-by-side" (input | result)
  reset_threshold  mean absolute luma change (0-255) between consecutive frames above which the previous alpha
                   is dropped, e.g. at a scene cut
  min_coverage     if fewer of the matte's pixels than this share are above 0.5, the person has left: the previous alpha is dropped
  log_every        log per-stage timings every N frames

With a refiner (REFINER_FILE, exported with --refiner mnet): each frame, the matte's uncertain band is found
(the trimap from MODNet's alpha), the camera crop of REF_W x REF_H holding most of it is cut out, and SHM's
M-Net refines the matte there at camera resolution; it runs again when the band in the crop changes or the
crop moves, and at least once a second, its last result reused in between.

Runs on the Kit's Python 3.7 with hilens, numpy and cv2 only; the same file runs on a laptop against
edgematte's stand-in `hilens` module (edgematte run). On the Kit the camera never runs out, so the skill runs
until the platform stops it (with the console's keep_running it is restarted if it crashes); it ends by
itself only when a video file's frames run out, or when init fails.
"""

import os
import time  # noqa: F401  (the loop core's Stopwatch reads the clock)

import cv2
import numpy as np

import hilens

# -- settings: edgematte writes the values of this block for each bundle --
GENERATED_BY = "edgematte (template)"  # the edgematte and preset that rendered this file
CHECK_VALUE = "edgematte"           # must equal the skill's check value (检验值) in the HiLens console
MODEL_FILE = "modnet4.om"           # the .om attached to the skill
NET_W, NET_H = 512, 288             # the model's input size
FEEDBACK = True                     # feed the model its previous alpha (False: zeros; a model trained on zeros)
DEFAULTS = {"background": "blur", "background_file": "", "mode": "composite", "reset_threshold": 30.0,
            "min_coverage": 0.02, "log_every": 100}
MODES = ("composite", "alpha", "side-by-side")
RANGES = {"reset_threshold": [0, 255], "min_coverage": [0, 1], "log_every": [1, 1000000]}  # config_items.json
REFINER_FILE = None                 # the refiner's .om (M-Net), or None
REF_W, REF_H = 0, 0                 # its input: a crop of the camera frame
HDMI_W, HDMI_H = 1920, 1080         # the HDMI output's size: a larger frame is not shown (display_hdmi.cpp)
# -- end of settings --

# -- the loop core: edgematte's loop.py, pictures.py and refine.py, copied in when rendered --
from edgematte.loop import *  # noqa: E402,F401,F403
from edgematte.pictures import *  # noqa: E402,F401,F403
from edgematte.refine import *  # noqa: E402,F401,F403
# -- end of the loop core --

STAGES = ("read", "resize", "infer", "refine", "composite", "show")

# The device's log functions hand the message to C as a printf format string, and drop messages over 255
# characters (HiLens Framework: wrapper.cpp / log.cpp). Every message goes through say().
LOG_LIMIT = 255


def say(log, text):
    """Log ``text`` safely: every % doubled (printed as one %), cut to the device's limit."""
    text = str(text).replace("%", "%%")
    if len(text) > LOG_LIMIT:
        text = text[:LOG_LIMIT - 3]
        while text.endswith("%") and (len(text) - len(text.rstrip("%"))) % 2:
            text = text[:-1]  # never leave half of a %% at the cut
        text += "..."
    log(text)


def config_value(value):
    """A console value: plain, {"value": v}, or a file-type parameter {"from": ..., "path": p} (its path)."""
    if isinstance(value, dict):
        if "path" in value:
            return value.get("path")
        return value.get("value")
    return value


def load_settings():
    """The skill config merged over the defaults; a value that cannot be used is logged and replaced by
    its default. get_skill_config() returns None when the platform wrote no config."""
    settings = dict(DEFAULTS)
    config = hilens.get_skill_config()
    if not isinstance(config, dict):
        config = {}
    for key in DEFAULTS:
        value = config_value(config.get(key))
        if value is None or value == "":
            continue
        try:
            value = type(DEFAULTS[key])(value)
        except (TypeError, ValueError):
            say(hilens.warning, "setting %s=%r is not a %s; using %r" % (key, value, type(DEFAULTS[key]).__name__,
                                                                       DEFAULTS[key]))
            continue
        if key in RANGES and not RANGES[key][0] <= value <= RANGES[key][1]:
            say(hilens.warning, "setting %s=%r is out of range; using %r" % (key, value, DEFAULTS[key]))
            continue
        settings[key] = value
    if settings["mode"] not in MODES:
        say(hilens.warning, "unknown mode %r, using composite" % settings["mode"])
        settings["mode"] = "composite"
    return settings


def find_file(name):
    if os.path.isabs(name):
        return name
    for folder in (hilens.get_model_dir(), hilens.get_workspace_path()):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    return name


def solid_background(rgb, width, height):
    image = np.empty((height, width, 3), np.uint8)
    image[:] = rgb
    return hilens.cvt_color(image, hilens.RGB2YUV_NV21)


class Background(object):
    """The picture behind the person, as NV21 at camera size: a colour, an image, or the blurred frame."""

    def __init__(self, setting, width, height):
        self.width, self.height = width, height
        self.blur = setting == "blur"
        self.fixed = None
        if self.blur:
            return
        if setting.startswith("#") and len(setting) == 7:
            rgb = [int(setting[i:i + 2], 16) for i in (1, 3, 5)]
            self.fixed = solid_background(rgb, width, height)
            return
        image = cv2.imread(find_file(setting), cv2.IMREAD_COLOR)
        if image is None:
            say(hilens.error, "background %r cannot be read; using blur" % setting)
            self.blur = True
            return
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        self.fixed = hilens.cvt_color(image, hilens.BGR2YUV_NV21)

    def frame(self, nv21):
        return blurred_nv21(nv21, self.width, self.height) if self.blur else self.fixed


def hdmi_size(width, height, max_w=HDMI_W):
    """The size (even, aspect kept) a width x height frame is scaled down to so that it fits max_w x HDMI_H."""
    if width <= max_w and height <= HDMI_H:
        return width, height
    scale = min(float(max_w) / width, float(HDMI_H) / height)
    return int(width * scale) // 2 * 2, int(height * scale) // 2 * 2


def fit_hdmi(preprocessor, frame, width, height, max_w=HDMI_W):
    """The frame scaled down to fit HDMI (or max_w of its width), on the device's scaler; the scaler takes
    sources up to HDMI's size only, so a wider picture is fitted in parts before it is joined."""
    w, h = hdmi_size(width, height, max_w)
    return frame if (w, h) == (width, height) else preprocessor.resize(frame, w, h, 0)


def composite(mode, frame, background, alpha, preprocessor, width, height):
    """What HDMI shows for ``mode``: the matte as grey, the composite, or camera | composite; fitted to HDMI on
    the device's scaler. Each output pixel is written once, in 8 bits."""
    if mode == "alpha":
        return fit_hdmi(preprocessor, alpha_nv21(alpha, width, height), width, height)
    out = blend_nv21(frame, background.frame(frame), alpha, width, height, np.empty_like(frame))
    if mode == "side-by-side":  # each half fitted to half of HDMI, then joined plane by plane (NV21 rows)
        half = HDMI_W // 2
        return np.hstack([fit_hdmi(preprocessor, frame, width, height, half),
                          fit_hdmi(preprocessor, out, width, height, half)])
    return fit_hdmi(preprocessor, out, width, height)


def run_refiner(model, preprocessor, frame, box, codes):
    """M-Net on the NV21 crop ``box`` of the camera frame (cut by the device's preprocessor) and its trimap
    codes -> the refined alpha at the crop's size, or None when the inference failed."""
    x, y, w, h = box
    crop = preprocessor.crop(frame, x, y, w, h, 0)
    if (w, h) != (REF_W, REF_H):  # a camera smaller than the refiner's crop
        crop = preprocessor.resize(crop, REF_W, REF_H, 0)
        codes = cv2.resize(codes, (REF_W, REF_H), interpolation=cv2.INTER_NEAREST)
    outputs = model.infer([crop.flatten(), codes.ravel()])
    if isinstance(outputs, int):
        say(hilens.error, "refiner infer returned error code %d" % outputs)
        return None
    return cv2.resize(outputs[0].reshape(REF_H, REF_W), (w, h), interpolation=cv2.INTER_LINEAR)


class RefinerStage(object):
    """M-Net on the most uncertain crop of each frame's matte (the refiner schedule of the loop core)."""

    def __init__(self, preprocessor, width, height):
        self.model = hilens.Model(hilens.get_model_dir() + REFINER_FILE)
        self.preprocessor, self.width, self.height = preprocessor, width, height
        # NV21 crops start on even pixels
        self.refiner = Refiner(min(REF_W, width), min(REF_H, height), frame_band(width, NET_W), even=True)

    def __call__(self, frame, alpha):
        """The frame-sized alpha, refined in the crop M-Net ran on (or its last result reused)."""
        alpha = cv2.resize(alpha, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        self.refiner(alpha, lambda box, codes: run_refiner(self.model, self.preprocessor, frame, box, codes))
        return alpha


class Shows(object):
    """Display.show with its failures logged once per streak (e.g. while another skill holds HDMI)."""

    def __init__(self):
        self.display, self.failed = hilens.Display(hilens.HDMI), 0

    def __call__(self, picture, frame_number):
        code = self.display.show(picture)
        if code != 0:
            if self.failed == 0:
                say(hilens.error, "Display.show returned %d on frame %d" % (code, frame_number))
            self.failed += 1
        elif self.failed:
            say(hilens.info, "Display.show works again after %d failed frames" % self.failed)
            self.failed = 0


def main():
    if hilens.init(CHECK_VALUE) != 0:
        say(hilens.error, "hilens.init(%r) failed: the check value must be letters and digits only, and equal "
                          "the skill's check value in the console" % CHECK_VALUE)
        return
    settings, cap, preprocessor = load_settings(), hilens.VideoCapture(), hilens.Preprocessor()
    width, height, mode = cap.width, cap.height, settings["mode"]
    model = hilens.Model(hilens.get_model_dir() + MODEL_FILE)
    refine = RefinerStage(preprocessor, width, height) if REFINER_FILE else None
    show, background = Shows(), Background(str(settings["background_file"] or settings["background"]), width, height)
    previous = PreviousAlpha(NET_W, NET_H, settings["reset_threshold"], settings["min_coverage"], FEEDBACK)
    watch, frames = Stopwatch(STAGES), 0
    say(hilens.info, "matting %dx%d camera with a %dx%d model, mode %s" % (width, height, NET_W, NET_H, mode))
    try:
        while True:
            watch.start()
            try:
                frame = cap.read()
            except RuntimeError as e:
                say(hilens.info, "camera stopped after %d frames: %s" % (frames, e))
                break
            watch.lap("read")
            small = preprocessor.resize(frame, NET_W, NET_H, 0)
            prev_alpha = previous.feed(small[:NET_H])  # the Y plane: a cut drops the previous alpha
            watch.lap("resize")
            outputs = model.infer([small.flatten(), prev_alpha.ravel()])
            watch.lap("infer")
            if isinstance(outputs, int):
                say(hilens.error, "infer returned error code %d on frame %d" % (outputs, frames))
                previous.drop()
                continue
            alpha = previous.keep(outputs[0].reshape(NET_H, NET_W))
            watch.skip()  # the bookkeeping above is not the refiner's
            alpha = refine(frame, alpha) if refine is not None else alpha
            watch.lap("refine")
            picture = composite(mode, frame, background, alpha, preprocessor, width, height)
            watch.lap("composite")
            show(picture, frames)
            watch.lap("show")
            frames += 1
            watch.frame_done()
            if frames % settings["log_every"] == 0:
                say(hilens.info, "frames %d, resets %d, ms/frame: %s" % (frames, previous.resets, watch.line()))
    finally:
        say(hilens.info, "done: %d frames, %d alpha resets%s" % (frames, previous.resets, "" if refine is None else
                                                                 ", %d refiner runs" % refine.refiner.runs))
        hilens.terminate()


if __name__ == "__main__":
    main()
