"""The HiLens skill: the template in the top-level ``skills/`` rendered into a bundle's ``skill/`` from the spec.

The template is plain Python 3.7 with ``${name}`` placeholders (``string.Template``); every value comes
from the spec or from :class:`SkillDefaults`, so nothing is typed twice.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from edgematte import __version__
from edgematte.spec import PipelineSpec

TEMPLATE_NAME = "matting"
SKILL_DIR = "skill"
MAIN_FILE = "main.py"
CONFIG_FILE = "skill_config.json"
DEVICE_IMPORTS = {"hilens", "numpy", "cv2"}  # besides the standard library


@dataclass(frozen=True)
class SkillDefaults:
    check_value: str = "edgematte"   # hilens.init's argument; enter the same value in the HiLens console
    background: str = "blur"         # "blur", "#rrggbb" or an image file
    mode: str = "composite"          # "composite", "alpha" or "side-by-side"
    reset_threshold: float = 30.0    # mean abs luma change (0-255) that drops the previous alpha
    min_coverage: float = 0.002      # below this foreground fraction, the person has left
    log_every: int = 100             # frames between timing logs


def template_dir() -> Path:
    """The template folder: the source tree's ``skills/``, or ``<prefix>/share/edgematte/skills`` in a wheel install."""
    import sys

    for candidate in (Path(__file__).parents[1] / "skills" / TEMPLATE_NAME,
                      Path(sys.prefix) / "share" / "edgematte" / "skills" / TEMPLATE_NAME):
        if (candidate / MAIN_FILE).exists():
            return candidate
    raise FileNotFoundError(f"the skill template {TEMPLATE_NAME!r} is missing from this installation")


def render_main(spec: PipelineSpec, model_file: str, defaults: SkillDefaults = SkillDefaults()) -> str:
    text = (template_dir() / MAIN_FILE).read_text()
    values = {**asdict(defaults), "edgematte_version": __version__, "preset": spec.name, "model_file": model_file,
              "width": spec.width, "height": spec.height}
    return Template(text).substitute(values)


def write_skill(folder: Path, spec: PipelineSpec, model_file: str, defaults: SkillDefaults = SkillDefaults()) -> dict:
    """Write ``skill/main.py`` and ``skill/skill_config.json`` (the default runtime settings); role -> relpath."""
    skill = folder / SKILL_DIR
    skill.mkdir(parents=True, exist_ok=True)
    (skill / MAIN_FILE).write_text(render_main(spec, model_file, defaults))
    config = {k: v for k, v in asdict(defaults).items() if k != "check_value"}
    (skill / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return {"skill": f"{SKILL_DIR}/{MAIN_FILE}", "skill_config": f"{SKILL_DIR}/{CONFIG_FILE}"}


def device_problems(source: str) -> list[str]:
    """Why ``source`` would not run on the Kit: not Python 3.7, or imports beyond hilens/numpy/cv2/stdlib."""
    import sys

    try:
        tree = ast.parse(source, feature_version=(3, 7))
    except SyntaxError as e:
        return [f"not valid Python 3.7: line {e.lineno}: {e.msg}"]
    allowed = DEVICE_IMPORTS | set(sys.stdlib_module_names)
    problems = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            if name.split(".")[0] not in allowed:
                problems.append(f"line {node.lineno}: imports {name}, which the Kit does not have")
    return problems
