"""The app templates in the top-level ``skills/`` and how a bundle's copy is rendered from them.

A template is a valid Python program of the board's image as it stands (it parses, lints and imports in the
tests): the values that differ per bundle sit in one settings block at its top, and the loop core it shares
with the package (:mod:`edgematte.loop` and :mod:`edgematte.refine`) is imported in a second block. Rendering
writes the bundle's values into the first block and pastes the two modules' source over the second, so the
rendered file is one program a board user can read and edit, importing the device's API, numpy and cv2 only.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

SETTINGS_BEGIN = "# -- settings: edgematte writes the values of this block for each bundle --"
SETTINGS_END = "# -- end of settings --"
CORE_BEGIN = "# -- the loop core: edgematte's loop.py, pictures.py and refine.py, copied in when rendered --"
CORE_END = "# -- end of the loop core --"
SHARED_MARKER = "# -- copied into the generated skill and app from here on"  # in loop.py and refine.py
MAIN_FILE = "main.py"  # each template folder holds one
LINE_LIMIT = 116


def template_dir(name: str) -> Path:
    """A template folder: the source tree's ``skills/<name>``, or ``<prefix>/share/edgematte/skills/<name>`` in a
    wheel install."""
    for candidate in (Path(__file__).parents[1] / "skills" / name,
                      Path(sys.prefix) / "share" / "edgematte" / "skills" / name):
        if (candidate / MAIN_FILE).exists():
            return candidate
    raise FileNotFoundError(f"the template {name!r} is missing from this installation")


def template_source(name: str) -> str:
    return (template_dir(name) / MAIN_FILE).read_text()


def shared_source() -> str:
    """The loop core's code (edgematte/loop.py, pictures.py, then refine.py, each after its marker) for the generated
    apps, which cannot import edgematte: one source for the device, the stand-in, the study, eval and training."""
    from edgematte import loop, pictures, refine

    parts = []
    for module in (loop, pictures, refine):
        text = Path(module.__file__).read_text()
        parts.append(text[text.index(SHARED_MARKER):].split("\n", 1)[1].strip() + "\n")
    return "\n\n".join(parts)


def _literal(value) -> str:
    """``value`` as Python source with double-quoted strings (the templates' style); a dict too long for one line
    gets one item per line."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (tuple, list)):
        items = ", ".join(_literal(v) for v in value)
        return f"({items}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{items}]"
    if isinstance(value, dict):
        items = [f"{_literal(k)}: {_literal(v)}" for k, v in value.items()]
        text = "{" + ", ".join(items) + "}"
        return text if len(text) <= LINE_LIMIT - 20 else "{\n" + "".join(f"    {i},\n" for i in items) + "}"
    return repr(value)


def _block(lines: list[str], begin: str, end: str) -> tuple[int, int]:
    """The indices of the ``begin`` and ``end`` marker lines."""
    try:
        return lines.index(begin), lines.index(end)
    except ValueError:
        raise ValueError(f"the template has no block between {begin!r} and {end!r}") from None


def read_settings(text: str) -> dict:
    """The values of a rendered (or template) file's settings block, by name (``"NET_W, NET_H"`` for a tuple
    target); ValueError when the block is missing or holds something other than literals."""
    lines = text.split("\n")
    begin, end = _block(lines, SETTINGS_BEGIN, SETTINGS_END)
    values = {}
    for node in ast.parse("\n".join(lines[begin + 1:end])).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            raise ValueError("the settings block holds only NAME = value lines")
        target = node.targets[0]
        names = [t.id for t in target.elts] if isinstance(target, ast.Tuple) else [target.id]
        values[", ".join(names)] = ast.literal_eval(node.value)
    return values


def render_template(text: str, settings: dict) -> str:
    """``text`` with the values of its settings block replaced by ``settings`` (every name the block assigns, and
    no other; a tuple target such as ``NET_W, NET_H`` takes a tuple) and its loop-core block replaced by
    :func:`shared_source`. The block's comments stay."""
    lines = text.split("\n")
    begin, end = _block(lines, SETTINGS_BEGIN, SETTINGS_END)
    block = lines[begin + 1:end]
    rendered, assigned = [], set()
    for node in ast.parse("\n".join(block)).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            raise ValueError(f"the settings block holds only NAME = value lines (line {begin + 1 + node.lineno})")
        target = node.targets[0]
        names = [t.id for t in target.elts] if isinstance(target, ast.Tuple) else [target.id]
        key = ", ".join(names)
        if key not in settings:
            raise ValueError(f"no value for the template's setting {key}")
        assigned.add(key)
        value = settings[key]
        source = ", ".join(_literal(v) for v in value) if len(names) > 1 else _literal(value)
        comment = block[node.end_lineno - 1][node.end_col_offset:]
        rendered.append(f"{key} = {source}{comment}")
    extra = set(settings) - assigned
    if extra:
        raise ValueError(f"settings the template does not have: {', '.join(sorted(extra))}")
    lines[begin + 1:end] = rendered
    core_begin, core_end = _block(lines, CORE_BEGIN, CORE_END)
    lines[core_begin + 1:core_end] = shared_source().rstrip("\n").split("\n")
    return "\n".join(lines)
