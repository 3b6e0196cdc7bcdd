"""omg/atc command lines: golden text, and the generated convert.sh run against recording fake tools."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from edgematte.devices import DEVICES
from edgematte.export.commands import atc_command, compiler_command, convert_script, input_shape_flag, omg_command
from edgematte.spec import get_preset

GOLDEN = Path(__file__).parents[2] / "golden"


@pytest.fixture
def spec():
    return get_preset("hilens-512x288")


def commands(spec):
    return [omg_command(spec), atc_command(spec)]


@pytest.mark.parametrize("route", ["caffe", "onnx"])
def test_convert_script_per_route_matches_golden_text(spec, route):
    command = commands(spec)[0 if route == "caffe" else 1]
    assert convert_script([command], spec) == (GOLDEN / f"convert-hilens-512x288-{route}.sh").read_text()


def test_flags_match_the_facts_sheet(spec):
    omg, atc = (dict(a.split("=", 1) for a in c.argv[1:]) for c in commands(spec))
    assert omg == {"--model": "modnet4.prototxt", "--weight": "modnet4.caffemodel", "--framework": "0",
                   "--insert_op_conf": "aipp.cfg", "--output_type": "FP32", "--fp16_high_prec": "1",
                   "--output": "modnet4"}
    assert atc["--framework"] == "5" and atc["--soc_version"] == "Ascend310" and atc["--input_format"] == "NCHW"
    assert atc["--input_shape"] == "image:1,3,288,512;prev_alpha:1,1,288,512"
    assert (atc["--output_type"], atc["--precision_mode"]) == ("FP32", "force_fp16")


def test_commands_read_the_spec():
    spec = get_preset("hilens-384x384")
    assert input_shape_flag(spec) == "image:1,3,384,384;prev_alpha:1,1,384,384"
    atc = atc_command(spec).argv
    assert "--input_shape=image:1,3,384,384;prev_alpha:1,1,384,384" in atc and "--framework=5" in atc
    omg = omg_command(spec).argv
    assert "--framework=0" in omg and "--weight=modnet4.caffemodel" in omg


def test_each_device_family_gets_its_own_compiler_and_soc_version():
    spec = get_preset("hilens-512x288")
    for device in DEVICES.values():
        command = compiler_command(spec, device)
        assert command.tool == device.compiler and command.note.startswith(device.title)
        if device.compiler == "atc":
            assert f"--soc_version={device.soc_version}" in command.argv
            assert any(device.toolchain in line for line in command.where)


def _fake_tool(folder: Path, name: str) -> None:
    path = folder / name
    path.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "{name}" "$@" > "$(dirname "$0")/{name}.argv"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_convert_script_passes_exactly_our_argv_to_the_tools(tmp_path, spec):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("omg", "atc"):
        _fake_tool(bindir, tool)
    script = tmp_path / "convert.sh"
    script.write_text(convert_script(commands(spec), spec))
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    r = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for cmd in commands(spec):
        assert (bindir / f"{cmd.tool}.argv").read_text().splitlines() == list(cmd.argv)


def test_convert_script_without_the_toolchain_says_so(tmp_path, spec):
    script = tmp_path / "convert.sh"
    script.write_text(convert_script(commands(spec), spec))
    r = subprocess.run(["bash", str(script)], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert r.returncode == 127
    assert "omg is not on PATH" in r.stderr
    assert not commands(spec)[0].available()
