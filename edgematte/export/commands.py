"""The device toolchains' command lines, rendered from the spec, and the ``convert.sh`` that runs them.

- HiLens Kit: DDK ``omg`` with Caffe (``--framework=0``); the Kit accepts neither ONNX nor CANN models.
- Ascend 310 / 310B / 310P boards: CANN ``atc`` with ONNX (``--framework=5``), ``--soc_version`` from the
  device family's record (:mod:`edgematte.devices`). Their ``convert.sh`` first checks the installed CANN
  version against the family's window (the toolkit's ``<arch>-linux/ascend_toolkit_install.info``,
  ``version=`` line: CANN installation guide, "File Paths", 8.0.0 and 8.5.0) and, where ``npu-smi`` exists
  (on a board), that its chip is the family's; a mismatch stops with a message saying what to do.

Both convert the ``image`` input through AIPP (``--insert_op_conf``) and keep the output FP32, which is
what ``hilens.Model.infer`` decodes. Facts: ../shared/docs/ascend-hilens-facts.md §1-2.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgematte.bundle import file_name
from edgematte.devices import DEVICES, DeviceFamily
from edgematte.errors import EdgematteError
from edgematte.spec import PipelineSpec


@dataclass(frozen=True)
class ToolCommand:
    tool: str
    argv: tuple[str, ...]
    note: str  # one line: what the command makes and for which device
    where: tuple[str, ...] = ()  # comment lines for convert.sh: where to run it, and any alternative

    def available(self) -> bool:
        """Whether the tool is on PATH (it never is on a laptop; the command is then only written)."""
        return shutil.which(self.tool) is not None

    def shell(self) -> str:
        """The command as one shell line, each flag on its own continuation line."""
        return " \\\n    ".join(shlex.quote(a) for a in self.argv)


def input_shape_flag(spec: PipelineSpec) -> str:
    return ";".join(f"{name}:{','.join(map(str, shape))}" for name, shape in spec.input_shapes.items())


Rel = Callable[[str], str]  # role -> its path in the bundle (BundleWriter.rel)


def _rel(spec: PipelineSpec, rel: Rel | None) -> Rel:
    return rel or (lambda role: file_name(role, spec.model))


def _output_stem(rel: Rel) -> str:
    om = rel("om")
    return om[:-len(".om")] if om.endswith(".om") else om  # omg/atc append ".om" to --output


def omg_command(spec: PipelineSpec, device: DeviceFamily = DEVICES["hilens-kit"], rel: Rel | None = None) -> ToolCommand:
    """``rel``: where each file is in the bundle (default: the spec's network's files at the top)."""
    rel = _rel(spec, rel)
    prototxt, caffemodel, aipp = rel("prototxt"), rel("caffemodel"), rel("aipp")
    argv = ("omg", f"--model={prototxt}", f"--weight={caffemodel}", "--framework=0",
            f"--insert_op_conf={aipp}", "--output_type=FP32", "--fp16_high_prec=1", f"--output={_output_stem(rel)}")
    where = ("Run it on an x86 Ubuntu host with the DDK toolchain (omg, e.g. /opt/ddk/bin/aarch64-linux-gcc7.3.0/omg);",
             "HiLens Studio, whose terminal had omg, went offline on 2023-09-15.",
             f"Console alternative: upload {prototxt}, {caffemodel} and {aipp} (one of each) to OBS and import them",
             "in the HiLens console as \"Caffe to Ascend\" (Caffe 转 Ascend); it returns the .om and job_log.txt.",
             "(Huawei has announced that the HiLens basic console is about to go offline.)",
             "--fp16_high_prec=1 builds the high-precision FP16 model: the InstanceNorm chain sums squares.")
    return ToolCommand("omg", argv, f"{device.title} (DDK omg, Caffe): writes {rel('om')}", where)


def atc_command(spec: PipelineSpec, device: DeviceFamily = DEVICES["ascend310"], rel: Rel | None = None) -> ToolCommand:
    # --insert_op_conf's aipp.cfg has a block per AIPP-fed input (aipp.aipp_configs): MODNet's image; M-Net's
    # image and trimap
    rel = _rel(spec, rel)
    argv = ("atc", f"--model={rel('onnx')}", "--framework=5", f"--output={_output_stem(rel)}",
            f"--soc_version={device.soc_version}", "--input_format=NCHW", f"--input_shape={input_shape_flag(spec)}",
            f"--insert_op_conf={rel('aipp')}", "--output_type=FP32", "--precision_mode=force_fp16",
            "--op_select_implmode=high_precision", "--optypelist_for_implmode=Sigmoid", "--log=error")
    where = (f"Run it with {device.toolchain}.",
             f"The .om runs only on {device.soc_version} chips; the HiLens Kit loads only omg (DDK) models.")
    return ToolCommand("atc", argv, f"{device.title} (CANN atc, ONNX opset {spec.opset}): writes {rel('om')}",
                       where)


COMPILERS = {"omg": omg_command, "atc": atc_command}


def compiler_command(spec: PipelineSpec, device: DeviceFamily, rel: Rel | None = None) -> ToolCommand:
    """The command that compiles a bundle's network for ``device``, from its family record."""
    return COMPILERS[device.compiler](spec, device, rel)


# Where CANN installs write ascend_toolkit_install.info, under <root>/<arch>-linux/ (root and non-root
# installs; CANN 8.5 moved the toolkit to .../Ascend/cann). set_env.sh exports ASCEND_TOOLKIT_HOME.
CANN_ROOTS = ('${ASCEND_TOOLKIT_HOME:-}', '${ASCEND_HOME_PATH:-}', "/usr/local/Ascend/ascend-toolkit/latest",
              "/usr/local/Ascend/cann", '${HOME}/Ascend/ascend-toolkit/latest', '${HOME}/Ascend/cann')
SKIP_CHECKS = "EDGEMATTE_SKIP_DEVICE_CHECK"  # set to 1 to compile past a CANN or chip mismatch on purpose


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
             '    if [ -n "$root" ] && [ -f "$root/$(uname -m)-linux/ascend_toolkit_install.info" ]; then',
             '      info="$root/$(uname -m)-linux/ascend_toolkit_install.info"; break',
             '    fi',
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
        others = ", ".join(d.name for d in DEVICES.values() if d.compiler == "atc" and d is not device)
        lines += [f'  if [ "$key" -gt {_version_key(high)} ]; then',
                  f'    echo "Error: CANN $cann no longer lists {device.soc_version} (the last that does is {high}); '
                  f'use CANN {high} or earlier for {device.title}, or re-export for your board with edgematte '
                  f'{flag} ({others})" >&2; exit 3',
                  '  fi']
    lines += ['  if command -v npu-smi >/dev/null; then',
              "    chip=$(npu-smi info 2>/dev/null | grep -owE '310([BP][0-9])?' | head -n 1 || true)",
              f'    if [ -n "$chip" ] && [ "$chip" != "{device.npu_name}" ]; then',
              '      case "$chip" in ' + " ".join(f"{d.npu_name}) family={d.name};;" for d in DEVICES.values()
                                              if d.compiler == "atc") + ' *) family="?";; esac',
              f'      echo "Error: the NPU of this board is $chip, but the bundle is for {device.soc_version} '
              f'({device.title}); re-export with: edgematte {flag} $family (or set {SKIP_CHECKS}=1 to compile '
              'for the other board here)" >&2; exit 4',
              '    fi',
              '  fi',
              f'  echo "CANN $cann ($info); compiling for {device.soc_version}"',
              'fi', ""]
    return lines


def convert_script(commands: list[ToolCommand], spec: PipelineSpec, device: DeviceFamily | None = None) -> str:
    """A bash script, run from the bundle folder, that checks each tool is there (and, for CANN, its version
    and the board's chip against ``device``) and runs it."""
    lines = ["#!/usr/bin/env bash",
             f"# Generated by edgematte for preset {spec.name}. Run it from this folder, where the tool is installed.",
             "set -euo pipefail", 'cd "$(dirname "$0")"', ""]
    if device is not None and device.compiler == "atc":
        lines += ["# Boards with less than 8 GB: fewer atc compile processes (Ascend's board samples do the same).",
                  "export TE_PARALLEL_COMPILER=${TE_PARALLEL_COMPILER:-1}",
                  "export MAX_COMPILE_CORE_NUMBER=${MAX_COMPILE_CORE_NUMBER:-1}", ""]
    checked = False
    for cmd in commands:
        lines += [f"# {cmd.note}", *(f"# {line}" for line in cmd.where),
                  f"command -v {cmd.tool} >/dev/null || {{ echo \"{cmd.tool} is not on PATH: run this script "
                  f"where the toolchain is installed\" >&2; exit 127; }}"]
        if device is not None and cmd.tool == "atc" and not checked:
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
