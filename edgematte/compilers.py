"""The device compilers: one record each, hung off the device families (:mod:`edgematte.devices`). A record
says which model file its compiler reads, renders its command line from the spec, prepares the ONNX the way
the compiler needs it and lists what in an ONNX it would refuse (its acceptance rules, which ``verify`` runs
too), and whether ``convert.sh`` checks the installed toolchain and the board's chip first.

- HiLens Kit: DDK ``omg`` with Caffe (``--framework=0``); the Kit accepts neither ONNX nor CANN models.
- Ascend 310 / 310B / 310P boards: CANN ``atc`` with ONNX (``--framework=5``), ``--soc_version`` from the
  device family's record.

Both convert the ``image`` input through AIPP (``--insert_op_conf``) and keep the output FP32, which is what
``hilens.Model.infer`` and the AscendCL app decode. Facts: ../shared/docs/ascend-hilens-facts.md §1-2.
Low in the package: it imports the spec and the bundle's file names only.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from edgematte.bundle import file_name

if TYPE_CHECKING:
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


Rel = Callable[[str], str]  # role -> its path in the bundle (BundleWriter.rel)


def input_shape_flag(spec: "PipelineSpec") -> str:
    return ";".join(f"{name}:{','.join(map(str, shape))}" for name, shape in spec.input_shapes.items())


def _rel(spec: "PipelineSpec", rel: Rel | None) -> Rel:
    return rel or (lambda role: file_name(role, spec.model))


def _output_stem(rel: Rel) -> str:
    om = rel("om")
    return om[:-len(".om")] if om.endswith(".om") else om  # omg/atc append ".om" to --output


def _omg_command(spec: "PipelineSpec", family, rel: Rel | None = None) -> ToolCommand:
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
    return ToolCommand("omg", argv, f"{family.title} (DDK omg, Caffe): writes {rel('om')}", where)


def _atc_command(spec: "PipelineSpec", family, rel: Rel | None = None) -> ToolCommand:
    # --insert_op_conf's aipp.cfg has a block per AIPP-fed input (aipp.aipp_configs): MODNet's image; M-Net's
    # image and trimap. --optypelist_for_implmode is marked for deprecation in CANN 9.1's atc docs: it still
    # applies high precision to Sigmoid in every release the families admit.
    rel = _rel(spec, rel)
    argv = ("atc", f"--model={rel('onnx')}", "--framework=5", f"--output={_output_stem(rel)}",
            f"--soc_version={family.soc_version}", "--input_format=NCHW", f"--input_shape={input_shape_flag(spec)}",
            f"--insert_op_conf={rel('aipp')}", "--output_type=FP32", "--precision_mode=force_fp16",
            "--op_select_implmode=high_precision", "--optypelist_for_implmode=Sigmoid", "--log=error")
    where = (f"Run it with {family.toolchain}.",
             f"The .om runs only on {family.soc_version} chips; the HiLens Kit loads only omg (DDK) models.")
    return ToolCommand("atc", argv, f"{family.title} (CANN atc, ONNX opset {spec.opset}): writes {rel('om')}",
                       where)


def _prepare_for_atc(proto):
    from edgematte.atc_onnx import prepare_for_atc

    return prepare_for_atc(proto)


def _atc_problems(proto, spec: "PipelineSpec", family) -> list[str]:
    from edgematte.atc_onnx import atc_problems

    return atc_problems(proto, spec, family)


@dataclass(frozen=True)
class Compiler:
    name: str                        # the tool's name on PATH, and what messages call it
    reads: str                       # the model file it compiles: "caffe" or "onnx"
    render: Callable                 # (spec, family, rel) -> ToolCommand
    prepare: Callable | None = None  # (ONNX proto) -> (proto, record): the exact rewrite it needs, or None
    refuses: Callable | None = None  # (ONNX proto, spec, family) -> what in the ONNX it would refuse
    checks_toolchain: bool = False   # convert.sh checks the installed toolkit's version and the board's chip
    few_processes: bool = False      # convert.sh caps its compile processes (boards with little memory)

    def __str__(self) -> str:
        return self.name

    def command(self, spec: "PipelineSpec", family, rel: Rel | None = None) -> ToolCommand:
        """The command that compiles the spec's network for ``family``; ``rel``: where each file is in the bundle
        (default: the spec's network's files at the top)."""
        return self.render(spec, family, rel)

    def onnx_problems(self, proto, spec: "PipelineSpec", family) -> list[str]:
        return self.refuses(proto, spec, family) if self.refuses is not None and self.reads == "onnx" else []


OMG = Compiler("omg", "caffe", _omg_command)
ATC = Compiler("atc", "onnx", _atc_command, prepare=_prepare_for_atc, refuses=_atc_problems, checks_toolchain=True,
               few_processes=True)
COMPILERS: dict[str, Compiler] = {c.name: c for c in (OMG, ATC)}
