"""The ``convert.sh`` that runs a bundle's compiler commands (rendered by the compiler's record,
:mod:`edgematte.compilers`). Where the record says so (CANN ``atc``), ``convert.sh`` first checks the installed
CANN version against the family's window (the toolkit's ``<arch>-linux/ascend_toolkit_install.info``,
``version=`` line: CANN installation guide, "File Paths", 8.0.0 and 8.5.0) and, where ``npu-smi`` exists (on a
board), that its chip is the family's; a mismatch stops with a message saying what to do.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from edgematte.bundle import file_name
from edgematte.compilers import Rel, ToolCommand
from edgematte.devices import DEVICES, DeviceFamily, families_compiled_by
from edgematte.errors import EdgematteError
from edgematte.spec import PipelineSpec


def compiler_command(spec: PipelineSpec, device: DeviceFamily, rel: Rel | None = None) -> ToolCommand:
    """The command that compiles a bundle's network for ``device``, from its compiler's record."""
    return device.compiler.command(spec, device, rel)


# Where CANN installs write ascend_toolkit_install.info, under <root>/<arch>-linux/ (root and non-root
# installs; CANN 8.5 moved the toolkit to .../Ascend/cann). set_env.sh exports ASCEND_TOOLKIT_HOME.
CANN_ROOTS = ('${ASCEND_TOOLKIT_HOME:-}', '${ASCEND_HOME_PATH:-}', "/usr/local/Ascend/ascend-toolkit/latest",
              "/usr/local/Ascend/cann", '${HOME}/Ascend/ascend-toolkit/latest', '${HOME}/Ascend/cann')
SKIP_CHECKS = "EDGEMATTE_SKIP_DEVICE_CHECK"  # set to 1 to compile past a CANN or chip mismatch on purpose
# Older CANN releases on ARM hosts installed the toolkit under <root>/arm64-linux/ rather than aarch64-linux/
# (the main case for the first-generation 310's boards): looked for after $(uname -m).
OLD_ARCH_FOLDERS = ("arm64",)
# The chip in npu-smi's table: every family's name, and the names older drivers used (devices.py)
NPU_NAME_PATTERN = "|".join(["310([BP][0-9])?", *(n for d in DEVICES.values() for n in d.old_names)])


def _version_key(text: str) -> int:
    major, minor = text.split(".")[:2]
    return int(major) * 1000 + int(minor)


def device_checks(device: DeviceFamily) -> list[str]:
    """bash lines that stop convert.sh when the installed CANN or the board's chip does not fit ``device``."""
    low, high = device.cann or (None, None)
    flag = "export --to om --device"
    lines = [f"# Check the toolchain for {device.title} (set {SKIP_CHECKS}=1 to skip on purpose).",
             f'if [ "${{{SKIP_CHECKS}:-0}}" != 1 ]; then',
             '  info=""',
             f'  for root in {" ".join(chr(34) + r + chr(34) for r in CANN_ROOTS)}; do',
             f'    for arch in "$(uname -m)" {" ".join(OLD_ARCH_FOLDERS)}; do',
             '      if [ -n "$root" ] && [ -f "$root/$arch-linux/ascend_toolkit_install.info" ]; then',
             '        info="$root/$arch-linux/ascend_toolkit_install.info"; break 2',
             '      fi',
             '    done',
             '  done',
             '  if [ -z "$info" ]; then',
             '    echo "Error: no CANN toolkit found (ascend_toolkit_install.info); source the toolkit set_env.sh '
             f'first, or set {SKIP_CHECKS}=1" >&2; exit 3',
             '  fi',
             '  cann=$(sed -n "s/^version=//p" "$info" | head -n 1)',
             """  key=$(echo "$cann" | awk -F. '{ if ($1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+/) printf "%d", $1 * 1000 + $2 }')""",
             '  if [ -z "$key" ]; then',
             f'    echo "Error: cannot read the CANN version in $info (version=$cann); set {SKIP_CHECKS}=1 to '
             'compile anyway" >&2; exit 3',
             '  fi']
    if low:
        lines += [f'  if [ "$key" -lt {_version_key(low)} ]; then',
                  f'    echo "Error: CANN $cann is older than {low}, the first whose atc lists {device.soc_version}; '
                  f'install CANN {low} or later" >&2; exit 3',
                  '  fi']
    if high:
        others = ", ".join(d.name for d in families_compiled_by(device.compiler) if d is not device)
        lines += [f'  if [ "$key" -gt {_version_key(high)} ]; then',
                  f'    echo "Error: CANN $cann no longer lists {device.soc_version} (the last that does is {high}); '
                  f'use CANN {high} or earlier for {device.title}, or re-export for your board with edgematte '
                  f'{flag} ({others})" >&2; exit 3',
                  '  fi']
    families = families_compiled_by(device.compiler)
    names = " ".join(f"{'|'.join(d.npu_names)}) family={d.name};;" for d in families)
    lines += ['  if command -v npu-smi >/dev/null; then',
              f"    chip=$(npu-smi info 2>/dev/null | grep -owE '{NPU_NAME_PATTERN}' | head -n 1 || true)",
              f'    case "$chip" in ""|{"|".join(device.npu_names)}) ;; *)',
              f'      case "$chip" in {names} *) family="?";; esac',
              f'      echo "Error: the NPU of this board is $chip, but the bundle is for {device.soc_version} '
              f'({device.title}); re-export with: edgematte {flag} $family (or set {SKIP_CHECKS}=1 to compile '
              'for the other board here)" >&2; exit 4;;',
              '    esac',
              '  fi',
              f'  echo "CANN $cann ($info); compiling for {device.soc_version}"',
              '  # Huawei\'s compatibility rule: an .om runs on a CANN runtime of the release that compiled it or newer',
              '  echo "The .om will need CANN $cann or newer on the board (npu-smi info and the board\'s CANN show it)"',
              'fi', ""]
    return lines


def convert_script(commands: list[ToolCommand], spec: PipelineSpec, device: DeviceFamily | None = None) -> str:
    """A bash script, run from the bundle folder, that checks each tool is there (and, for CANN, its version
    and the board's chip against ``device``) and runs it."""
    lines = ["#!/usr/bin/env bash",
             f"# Generated by edgematte for preset {spec.name}. Run it from this folder, where the tool is installed.",
             "set -euo pipefail", 'cd "$(dirname "$0")"', ""]
    if device is not None and device.compiler.few_processes:
        lines += ["# Boards with less than 8 GB: fewer atc compile processes (Ascend's board samples do the same).",
                  "export TE_PARALLEL_COMPILER=${TE_PARALLEL_COMPILER:-1}",
                  "export MAX_COMPILE_CORE_NUMBER=${MAX_COMPILE_CORE_NUMBER:-1}", ""]
    checked = False
    for cmd in commands:
        lines += [f"# {cmd.note}", *(f"# {line}" for line in cmd.where),
                  f"command -v {cmd.tool} >/dev/null || {{ echo \"{cmd.tool} is not on PATH: run this script "
                  f"where the toolchain is installed\" >&2; exit 127; }}"]
        if device is not None and device.compiler.checks_toolchain and cmd.tool == device.compiler.name and not checked:
            lines += device_checks(device)
            checked = True
        lines += [cmd.shell(), ""]
    return "\n".join(lines)


class ConversionError(EdgematteError):
    pass


def run_convert_script(folder: Path, command: ToolCommand, tail: int = 15) -> None:
    """Run ``convert.sh`` in ``folder`` (only call it when the tool is on PATH); its output goes to the
    convert log. A failure raises :class:`ConversionError` with the command and the log's last lines."""
    log_path = folder / file_name("convert_log")
    with open(log_path, "w") as log:
        code = subprocess.run(["bash", file_name("convert_script")], cwd=folder, stdout=log,
                              stderr=subprocess.STDOUT).returncode
    if code != 0:
        lines = log_path.read_text(errors="replace").strip().splitlines()[-tail:]
        raise ConversionError(f"{command.tool} failed with exit status {code}: {' '.join(command.argv)}\n"
                              + "\n".join(f"  | {line}" for line in lines))
