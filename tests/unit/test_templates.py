"""The app templates are Python as they stand (they parse in the board's Python and import against the device
API's stand-in), rendering changes only their settings block and their loop-core block, and their main loops
stay short."""

import ast
import runpy

import pytest

from edgematte.acl_app import TEMPLATE_NAME as APP_TEMPLATE
from edgematte.acl_app import render_app
from edgematte.apps import APPS, app_of
from edgematte.devices import DEVICES, families_running
from edgematte.hilens_skill import TEMPLATE_NAME as SKILL_TEMPLATE
from edgematte.hilens_skill import render_main
from edgematte.spec import get_preset
from edgematte.standin import FOLDER as STANDIN_FOLDER
from edgematte.templates import (CORE_BEGIN, CORE_END, SETTINGS_BEGIN, SETTINGS_END, render_template, shared_source,
                                 template_dir, template_source)

TEMPLATES = {"hilens_skill": SKILL_TEMPLATE, "acl_app": APP_TEMPLATE}
MAIN_LOOP_LINES = 40


def test_every_app_has_a_template():
    assert set(TEMPLATES) == set(APPS)


@pytest.mark.parametrize("app", sorted(TEMPLATES))
def test_the_template_parses_in_the_boards_python_and_imports_against_the_stand_in(app, monkeypatch):
    source = template_source(TEMPLATES[app])
    python = min(f.python for f in families_running(app))
    tree = ast.parse(source, feature_version=python)
    imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert APPS[app].device_api in imported  # the module its record says it runs against
    monkeypatch.syspath_prepend(str(STANDIN_FOLDER))  # `import hilens` / `import acl` get the stand-ins
    namespace = runpy.run_path(str(template_dir(TEMPLATES[app]) / "main.py"), run_name="template")
    assert callable(namespace["main"]) and namespace["PreviousAlpha"].__module__ == "edgematte.loop"


def _main_loop_length(source: str) -> int:
    tree = ast.parse(source)
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.While)
             and any(isinstance(f, ast.FunctionDef) and f.name in ("main", "run") and n in ast.walk(f)
                     for f in tree.body)]
    assert len(loops) == 1
    return loops[0].end_lineno - loops[0].lineno + 1


@pytest.mark.parametrize("app", sorted(TEMPLATES))
def test_the_main_loop_fits_a_screen(app):
    assert _main_loop_length(template_source(TEMPLATES[app])) <= MAIN_LOOP_LINES


@pytest.mark.parametrize("app", sorted(TEMPLATES))
def test_rendering_writes_the_settings_and_pastes_the_loop_core_and_nothing_else(app):
    family = families_running(app)[0]
    spec = get_preset("hilens-384x384")
    template = template_source(TEMPLATES[app])
    rendered = {"hilens_skill": render_main, "acl_app": render_app}[app](spec, family)
    assert "NET_W, NET_H = 384, 384" in rendered and "from edgematte" not in rendered
    assert shared_source() in rendered and app_of(family).problems(rendered, family) == []

    def outside(text):
        lines = text.split("\n")
        for begin, end in ((SETTINGS_BEGIN, SETTINGS_END), (CORE_BEGIN, CORE_END)):
            lines = lines[:lines.index(begin)] + lines[lines.index(end):]
        return lines
    assert outside(rendered) == outside(template)


def test_rendering_refuses_a_setting_the_template_lacks_or_misses():
    template = template_source(SKILL_TEMPLATE)
    settings = {"GENERATED_BY": "x", "CHECK_VALUE": "x", "MODEL_FILE": "x", "NET_W, NET_H": (1, 1), "FEEDBACK": True, "DEFAULTS": {},
                "MODES": (), "RANGES": {}, "REFINER_FILE": None, "REF_W, REF_H": (0, 0), "HDMI_W, HDMI_H": (1, 1)}
    render_template(template, settings)
    with pytest.raises(ValueError, match="no value for the template's setting MODES"):
        render_template(template, {k: v for k, v in settings.items() if k != "MODES"})
    with pytest.raises(ValueError, match="settings the template does not have: EXTRA"):
        render_template(template, {**settings, "EXTRA": 1})


def test_the_kits_hdmi_size_comes_from_its_record():
    kit = DEVICES["hilens-kit"]
    assert f"HDMI_W, HDMI_H = {kit.display_max[0]}, {kit.display_max[1]}" in render_main(get_preset("hilens-512x288"), kit)
