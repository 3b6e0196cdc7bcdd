"""The HiLens skill: the template in the top-level ``skills/`` rendered into a bundle's ``skill/`` from the spec.

The template is plain Python 3.7 with ``${name}`` placeholders (``string.Template``); every value comes
from the spec or from :class:`SkillDefaults`, so nothing is typed twice.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from string import Template
from typing import TYPE_CHECKING

from edgematte import __version__
from edgematte.bundle import file_name
from edgematte.devices import DEVICES
from edgematte.spec import PipelineSpec

if TYPE_CHECKING:
    from edgematte.bundle import BundleWriter

TEMPLATE_NAME = "matting"
MAIN_FILE = PurePosixPath(file_name("skill")).name  # the template's file is the skill's entry file
DEVICE_IMPORTS = {"hilens", "numpy", "cv2"}  # besides the standard library


MODES = ("composite", "alpha", "side-by-side")


@dataclass(frozen=True)
class SkillDefaults:
    check_value: str = "edgematte"   # hilens.init's argument; enter the same value in the HiLens console
    background: str = "blur"         # "blur", "#rrggbb" or an image file
    background_file: str = ""        # an image uploaded as a console file parameter; replaces background
    mode: str = "composite"          # one of MODES
    reset_threshold: float = 30.0    # mean abs luma change (0-255) that drops the previous alpha
    min_coverage: float = 0.002      # below this foreground fraction, the person has left
    log_every: int = 100             # frames between timing logs


# The runtime config items as the HiLens console asks for them (name, type int/float/enum/string/file,
# range, default, description): written into the bundle, and read by the skill for its range checks.
CONFIG_ITEMS = (
    {"name": "background", "type": "string",
     "description": "blur, a colour #rrggbb, or an image file name in the skill's workspace or model folder"},
    {"name": "background_file", "type": "file",
     "description": "an image uploaded here; when given, it replaces background"},
    {"name": "mode", "type": "enum", "values": list(MODES),
     "description": "composite; alpha (the matte as grey); side-by-side (camera | result, scaled down to fit HDMI)"},
    {"name": "reset_threshold", "type": "float", "range": [0, 255],
     "description": "mean luma change between frames (0-255) above which the previous alpha is dropped"},
    {"name": "min_coverage", "type": "float", "range": [0, 1],
     "description": "below this foreground fraction the person has left and the previous alpha is dropped"},
    {"name": "log_every", "type": "int", "range": [1, 1000000], "description": "frames between timing logs"},
)


def config_items(defaults: SkillDefaults = SkillDefaults()) -> list[dict]:
    return [{**item, "default": getattr(defaults, item["name"])} for item in CONFIG_ITEMS]


REFINE_MARKER = "# -- copied into the generated skill and app from here on"


def refine_source() -> str:
    """The refiner stage's code (edgematte/refine.py after its marker) for the generated skill and app, which
    cannot import edgematte: one source for the device, the stand-in, training and eval."""
    from edgematte import refine

    text = Path(refine.__file__).read_text()
    return text[text.index(REFINE_MARKER):].split("\n", 1)[1].strip() + "\n"


def refiner_values(refiner: PipelineSpec | None) -> dict:
    """The template values of the refiner stage (``refiner_file`` None: no refiner)."""
    from edgematte.bundle import refiner_file

    if refiner is None:
        return {"refiner_file": "None", "refiner_width": 0, "refiner_height": 0, "refine_code": refine_source()}
    return {"refiner_file": repr(refiner_file("om", refiner.model)), "refiner_width": refiner.width,
            "refiner_height": refiner.height, "refine_code": refine_source()}


def template_dir(name: str = TEMPLATE_NAME) -> Path:
    """A template folder: the source tree's ``skills/<name>``, or ``<prefix>/share/edgematte/skills/<name>`` in a
    wheel install. Each holds one ``main.py``."""
    import sys

    for candidate in (Path(__file__).parents[1] / "skills" / name,
                      Path(sys.prefix) / "share" / "edgematte" / "skills" / name):
        if (candidate / MAIN_FILE).exists():
            return candidate
    raise FileNotFoundError(f"the template {name!r} is missing from this installation")


def render_main(spec: PipelineSpec, defaults: SkillDefaults = SkillDefaults(), refiner: PipelineSpec | None = None) -> str:
    text = (template_dir() / MAIN_FILE).read_text()
    ranges = {item["name"]: item["range"] for item in CONFIG_ITEMS if "range" in item}
    values = {**asdict(defaults), "edgematte_version": __version__, "preset": spec.name,
              "model_file": file_name("om"), "width": spec.width, "height": spec.height, "modes": repr(MODES),
              "ranges": repr(ranges), "hdmi": repr(DEVICES["hilens-kit"].display_max), **refiner_values(refiner)}
    return Template(text).substitute(values)


def write_skill(bundle: "BundleWriter", spec: PipelineSpec, refiner: PipelineSpec | None = None,
                defaults: SkillDefaults = SkillDefaults()) -> list[str]:
    """Write the skill's main file (with the refiner stage for ``refiner``), its default runtime settings and
    the console's description of them into ``bundle``; returns their roles."""
    bundle.path("skill").write_text(render_main(spec, defaults, refiner))
    config = {k: v for k, v in asdict(defaults).items() if k != "check_value"}
    bundle.path("skill_config").write_text(json.dumps(config, indent=2) + "\n")
    bundle.path("skill_config_items").write_text(json.dumps(config_items(defaults), indent=2) + "\n")
    return ["skill", "skill_config", "skill_config_items"]


def device_problems(source: str, python: tuple[int, int] = DEVICES["hilens-kit"].python,
                    device_imports: set[str] = DEVICE_IMPORTS, where: str = "the Kit") -> list[str]:
    """Why ``source`` would not run on a board: not valid in its Python (grammar; the standard library is
    held to 3.7's module list, :mod:`edgematte.py37_stdlib`, the oldest any family runs), or imports beyond
    ``device_imports`` (for the Kit: hilens/numpy/cv2)."""
    from edgematte.py37_stdlib import PY37_STDLIB

    version = ".".join(map(str, python))
    try:
        tree = ast.parse(source, feature_version=python)
    except SyntaxError as e:
        return [f"not valid Python {version}: line {e.lineno}: {e.msg}"]
    allowed = set(device_imports) | PY37_STDLIB
    problems = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            if name.split(".")[0] not in allowed:
                problems.append(f"line {node.lineno}: imports {name}, which {where} does not have")
    return problems
