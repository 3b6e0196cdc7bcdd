"""The rendered skill: device-valid Python 3.7, settings in both value shapes, and the NV21 composite's bound."""

import importlib.util
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from edgematte.bundle import BundleWriter
from edgematte.devices import DEVICES
from edgematte.hilens_skill import SkillDefaults, device_problems, render_main, write_skill

KIT = DEVICES["hilens-kit"]
from edgematte.standin import load_hilens


@pytest.fixture
def skill_module(tmp_path, tiny_spec):
    """The rendered main.py imported as a module, with the stand-in configured (no model needed)."""
    hilens = load_hilens()
    with BundleWriter(tmp_path / "b") as writer:
        assert write_skill(writer, tiny_spec, KIT) == ["skill", "skill_config", "skill_config_items"]
        writer.commit()
    session = hilens.configure(hilens.StandinSession(source="none", bundle=SimpleNamespace(folder=tmp_path / "b")))
    spec = importlib.util.spec_from_file_location("skill_main", tmp_path / "b" / "skill" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, session


def test_main_py_is_python37_and_imports_only_what_the_kit_has(tiny_spec):
    source = render_main(tiny_spec, KIT)
    assert device_problems(source, KIT.python) == []
    assert "NET_W, NET_H = 64, 64" in source and 'MODEL_FILE = "modnet4.om"' in source
    assert device_problems(source + "\nimport torch\n", KIT.python) == ["line %d: imports torch, which the Kit does not have"
                                                             % (source.count("\n") + 2)]
    assert "not valid Python 3.7" in device_problems(source + "\nif (n := 1): pass\n", KIT.python)[0]
    # graphlib is standard library from Python 3.9 only: the Kit's 3.7 does not have it
    assert device_problems(source + "\nimport graphlib\n", KIT.python) == ["line %d: imports graphlib, which the Kit does not "
                                                               "have" % (source.count("\n") + 2)]


def test_settings_accept_plain_values_and_value_records(skill_module):
    module, session = skill_module
    session.skill_config = {"mode": {"value": "alpha"}, "reset_threshold": "12.5", "log_every": {"value": 7}}
    settings = module.load_settings()
    assert settings["mode"] == "alpha" and settings["reset_threshold"] == 12.5 and settings["log_every"] == 7
    assert settings["background"] == SkillDefaults().background
    session.skill_config = {"mode": "sideways"}
    assert module.load_settings()["mode"] == "composite"


def test_nv21_composite_matches_the_rgb_composite_within_the_documented_bound(skill_module):
    """blend_nv21 mixes Y with the full-size alpha and VU with the half-size alpha. Against the RGB
    composite of the same decoded pictures, the difference is rounding (<= 3 levels) where alpha is
    constant over each 2x2 chroma block, and grows only where alpha changes inside a block."""
    module, _ = skill_module
    hilens = load_hilens()
    rng = np.random.default_rng(0)
    w, h = 320, 180
    frame_rgb = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2)
    bg_rgb = np.zeros((h, w, 3), np.uint8)
    bg_rgb[:] = (20, 200, 60)
    frame = hilens.cvt_color(frame_rgb, hilens.RGB2YUV_NV21)
    bg = hilens.cvt_color(bg_rgb, hilens.RGB2YUV_NV21)
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    alpha = np.clip(1.5 - np.hypot(xx - 32, yy - 32) / 16, 0, 1)  # a soft disc, as a model outputs at 64x64

    got = cv2.cvtColor(module.blend_nv21(frame, bg, alpha, w, h, np.empty_like(frame)), cv2.COLOR_YUV2RGB_NV21).astype(np.float32)
    a = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    decoded = [cv2.cvtColor(x, cv2.COLOR_YUV2RGB_NV21).astype(np.float32) for x in (frame, bg)]
    want = a * decoded[0] + (1 - a) * decoded[1]
    err = np.abs(got - want)
    blocks = a[:, :, 0].reshape(h // 2, 2, w // 2, 2)
    flat = np.repeat(np.repeat(np.ptp(blocks, axis=(1, 3)) < 1e-6, 2, 0), 2, 1)
    assert err[flat].max() <= 3.0
    assert err.mean() <= 1.0 and err.max() <= 8.0  # measured: mean 0.41, max 5.2 levels


def test_alpha_and_side_by_side_frames(skill_module):
    module, _ = skill_module
    alpha = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    out = module.alpha_nv21(alpha, 128, 96)
    assert out.shape == (144, 128) and out[0, 0] == 0 and out[95, 127] == 255 and (out[96:] == 128).all()
    frame = np.full((144, 128), 9, np.uint8)  # side by side: the frame, then the frame over black (alpha 1)
    both = module.composite("side-by-side", frame, module.Background("#000000", 128, 96), np.ones((64, 64), np.float32),
                            None, 128, 96)
    assert both.shape == (144, 256) and (both == 9).all()


@pytest.mark.parametrize("config", [
    None,
    {"background_file": {"from": "obs", "path": "BACKGROUND"}, "mode": "composite"},
    {"log_every": 0, "reset_threshold": "not a number", "min_coverage": 2},
    {"mode": "sideways"},
    {"background": "C:/my 100%s backgrounds/beach.jpg", "mode": "alpha"},
    {"mode": {"value": "side-by-side"}, "log_every": {"value": 1}},
], ids=["no-config", "file-parameter", "bad-numbers", "unknown-mode", "percent-in-path", "value-records"])
def test_the_skill_runs_clean_under_the_device_contract_in_every_setting_shape(config, om_bundle, sample_clip,
                                                                               tmp_path):
    """No ContractError (a % reaching a log format, an over-long message, a frame HDMI cannot show), no
    division by zero, and every frame shown."""
    from edgematte.bundle import Bundle
    from edgematte.standin import run_skill, start

    if config and isinstance(config.get("background_file"), dict):
        cv2.imwrite(str(tmp_path / "bg.png"), np.full((90, 160, 3), (0, 200, 0), np.uint8))
        config["background_file"]["path"] = str(tmp_path / "bg.png")
    lines = []
    hilens = start(Bundle.open(om_bundle.out), source=str(sample_clip), output=tmp_path / "o.mp4",
                   skill_config=config, max_frames=3, log=lines.append, workspace=tmp_path / "ws")
    assert run_skill(hilens) is None, lines
    s = hilens.session()
    assert s.frames_shown == 3 and s.shown_size[0] <= 1920 and s.shown_size[1] <= 1080
    if config and "log_every" in config and config["log_every"] == 0:
        assert any("log_every=0 is out of range; using 100" in line for line in lines)
        assert any("reset_threshold='not a number' is not a float" in line for line in lines)
    if config and config.get("mode") == "sideways":
        assert any("unknown mode 'sideways'" in line for line in lines)
    if config and isinstance(config.get("background_file"), dict):
        assert not any("cannot be read" in line for line in lines)
    if config and isinstance(config.get("background"), str):
        assert any("100%s backgrounds/beach.jpg" in line and "cannot be read" in line for line in lines)


def test_the_console_config_items_match_the_skills_defaults_and_ranges(skill_module, tmp_path):
    """skill/config_items.json is what the HiLens console asks for; the skill checks the same ranges."""
    import json

    module, _ = skill_module
    items = json.loads((tmp_path / "b" / "skill" / "config_items.json").read_text())
    defaults = json.loads((tmp_path / "b" / "skill" / "skill_config.json").read_text())
    assert [i["name"] for i in items] == list(defaults) == list(module.DEFAULTS)
    assert {i["name"]: i["default"] for i in items} == defaults
    assert {i["name"]: i["range"] for i in items if "range" in i} == module.RANGES
    assert next(i for i in items if i["name"] == "mode")["values"] == list(module.MODES)
    assert {i["type"] for i in items} <= {"int", "float", "enum", "string", "file"}
