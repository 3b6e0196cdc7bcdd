"""The short README.md that travels with a device bundle: what each file is, how to convert, how to feed it."""

from __future__ import annotations

from pathlib import PurePosixPath

from edgematte.aipp import RGB888, YUV400
from edgematte.bundle import MANIFEST, REFINER_FOLDER, file_name
from edgematte.devices import DeviceFamily
from edgematte.export.commands import ToolCommand
from edgematte.spec import PipelineSpec

FILE_NOTES = {
    "prototxt": "the network in the HiLens Kit's Caffe subset (structure and layer parameters)",
    "caffemodel": "its weights",
    "onnx": "the network as ONNX (opset {opset}): for atc, and for the CPU stand-in (onnxruntime)",
    "aipp": "AIPP: {frames} {w}x{h} -> RGB ({to_rgb}) -> (x - {mean:g}) / {std:g} on the chip, input `{image}`{second}",
    "convert_script": "the exact {tool} command; run it where {tool} is installed",
    "om": "the compiled model, made by {convert} at export time",
    "convert_log": "what {tool} printed",
    "golden": "verification inputs and the PyTorch outputs for them",
    "skill": "the HiLens skill (Python 3.7): camera -> matte -> composite -> HDMI; upload {skill_dir}/ as the skill "
             "code, entry file {skill_main}, attach {om} as its model, and set the check value to the one in "
             "{skill_main}",
    "skill_config": "the skill's runtime settings and their defaults (background, mode, reset threshold)",
    "skill_config_items": "the same settings as the HiLens console's runtime config items: name, type, range, "
                          "default, description",
    "app": "the AscendCL app (Python {python}, pyACL + numpy + cv2): camera, video file or RTSP -> matte -> "
           "composite -> window, file or browser preview; `python3 {app} --help` on the board",
}


def device_readme(spec: PipelineSpec, device: DeviceFamily, roles: list[str], commands: list[ToolCommand],
                  refiner: PipelineSpec | None = None) -> str:
    """``commands``: the network's compiler command, then the refiner's (``refiner``: its spec)."""
    command = commands[0]
    skill = PurePosixPath(file_name("skill"))
    rgb888 = device.input_format == RGB888
    frames = "BGR888 (OpenCV's frame order)" if rgb888 else f"camera {spec.camera_format}"
    facts = dict(opset=spec.opset, frames=frames, w=spec.width, h=spec.height,
                 to_rgb="R/B swap" if rgb888 else spec.color_matrix,
                 mean=spec.norm_mean, std=spec.norm_std, image=spec.image_input, tool=command.tool,
                 om=file_name("om", spec.model), skill_dir=skill.parent, skill_main=skill.name,
                 convert=file_name("convert_script"), app=file_name("app"),
                 python=".".join(map(str, device.python)),
                 second=(f"; input `{spec.second_input}`: bytes 0 / 1 / 2 -> 0 / 0.5 / 1 ({YUV400})"
                         if spec.network.second_aipp else " only"))
    image = (f"the frame as packed BGR888 (uint8, {spec.width}x{spec.height}x3, OpenCV's order), resized on the host"
             if rgb888 else f"the camera frame as {spec.camera_format} (YUV420SP, uint8), already resized to "
             f"{spec.width}x{spec.height} by the chip's scaler (hilens.Preprocessor on the Kit, DVPP's VPC on the "
             f"CANN boards)")
    from edgematte.apps import app_of

    runner = app_of(device).laptop_note
    files = [f"- `{file_name(role, spec.model)}`: {FILE_NOTES[role].format(**facts)}"
             for role in roles if role in FILE_NOTES]
    if refiner is not None:
        files.append(f"- `{REFINER_FOLDER}/`: the refiner, SHM's M-Net at {refiner.width}x{refiner.height}: its model, "
                     f"AIPP config (image and trimap) and golden file; {file_name('convert_script')} compiles it too")
    if not spec.network.frame_network:
        runner = f"it as the refiner of a MODNet bundle: `edgematte export --to om --refiner {spec.model}`"
    return "\n".join([
        f"# {spec.network.title}, {spec.width}x{spec.height}, for {command.note.split(':')[0]}"
        + (f", with the M-Net refiner at {refiner.width}x{refiner.height}" if refiner is not None else ""),
        "",
        *files,
        f"- `{MANIFEST}`: spec, checksums, tool versions, and the max/mean abs error of every check",
        "",
        "## Convert",
        "",
        f"Run `./{file_name('convert_script')}` in this folder. {' '.join(command.where)}",
        "",
        *(line for c in commands for line in ("```", c.shell(), "```", "")),
        "## Inputs and output of the compiled model" + ("s" if refiner is not None else ""),
        "",
        *_model_io(spec, image),
        *(_model_io(refiner, f"the crop of the frame around the most uncertain part of the matte, "
                             f"{refiner.width}x{refiner.height}, in the same format as MODNet's input 0",
                    f"M-Net (`{file_name('om', refiner.model)}` in `{REFINER_FOLDER}/`)") if refiner is not None else []),
        f"Re-check the files anywhere with `edgematte verify <this folder>` (no PyTorch needed), and run {runner}."
        + (f" {app_of(device).board_note()}" if spec.network.frame_network and app_of(device).board_note() else ""),
        "",
    ])


def _model_io(spec: PipelineSpec, image: str, which: str = "") -> list[str]:
    network, values = spec.network, dict(shape=f"1x1x{spec.height}x{spec.width}", w=spec.width, h=spec.height)
    second = f"- input 1 `{spec.second_input}`: {network.second_input_note.format(**values)}"
    output = f"- output `{spec.alpha_output}`: {network.output_note.format(**values)}"
    return ([f"{which}:", ""] if which else []) + [
        f"- input 0 `{spec.image_input}`: {image}; AIPP converts and normalises it on the chip.", second, output, ""]
