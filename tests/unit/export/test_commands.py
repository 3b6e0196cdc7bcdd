"""omg/atc command lines: golden text, and the generated convert.sh run against recording fake tools."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from edgematte.compilers import input_shape_flag
from edgematte.devices import DEVICES
from edgematte.export.commands import compiler_command, convert_script
from edgematte.spec import get_preset

GOLDEN = Path(__file__).parents[2] / "golden"


@pytest.fixture
def spec():
    return get_preset("hilens-512x288")


def commands(spec):
    return [compiler_command(spec, DEVICES["hilens-kit"]), compiler_command(spec, DEVICES["ascend310"])]


@pytest.mark.parametrize("device", list(DEVICES))
def test_convert_script_per_device_family_matches_golden_text(spec, device):
    family = DEVICES[device]
    script = convert_script([compiler_command(spec, family)], spec, family)
    assert script == (GOLDEN / f"convert-hilens-512x288-{device}.sh").read_text()


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
    atc = compiler_command(spec, DEVICES["ascend310"]).argv
    assert "--input_shape=image:1,3,384,384;prev_alpha:1,1,384,384" in atc and "--framework=5" in atc
    omg = compiler_command(spec, DEVICES["hilens-kit"]).argv
    assert "--framework=0" in omg and "--weight=modnet4.caffemodel" in omg


def test_each_device_family_gets_its_own_compiler_and_soc_version():
    spec = get_preset("hilens-512x288")
    for device in DEVICES.values():
        command = compiler_command(spec, device)
        assert command.tool == device.compiler.name and command.note.startswith(device.title)
        if device.compiler.name == "atc":
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


# --- the CANN version and chip checks of the atc families' convert.sh ------------------------------------
def _toolkit(root: Path, version: str, arch: str | None = None) -> Path:
    """A CANN toolkit install as the installation guide lays it out: <root>/<arch>-linux/ascend_toolkit_install.info
    (``arch``: this machine's, or e.g. "arm64" as older CANN releases named the ARM folder)."""
    info = root / f"{arch or os.uname().machine}-linux" / "ascend_toolkit_install.info"
    info.parent.mkdir(parents=True)
    info.write_text(f"package_name=Ascend-cann-toolkit\nversion={version}\ninnerversion=V100R001\narch=x\n")
    return root


def _npu_smi(bindir: Path, chip: str) -> None:
    """npu-smi info's table, the chip in its Name column (as on a 310B board)."""
    (bindir / "npu-smi").write_text("#!/usr/bin/env bash\ncat <<'T'\n+-----+\n| NPU   Name  | Health |\n"
                                    f"| 0     {chip}  | OK     |\n+-----+\nT\n")
    (bindir / "npu-smi").chmod(0o755)


def _run_convert(tmp_path, spec, device: str, cann: str | None, chip: str | None, skip: bool = False,
                 arch: str | None = None):
    family = DEVICES[device]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    _fake_tool(bindir, "atc")
    if chip:
        _npu_smi(bindir, chip)
    script = tmp_path / "convert.sh"
    script.write_text(convert_script([compiler_command(spec, family)], spec, family))
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    if cann:
        env["ASCEND_TOOLKIT_HOME"] = str(_toolkit(tmp_path / "toolkit", cann, arch))
    if skip:
        env["EDGEMATTE_SKIP_DEVICE_CHECK"] = "1"
    r = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    ran = (bindir / "atc.argv").exists()
    return r, ran, (bindir / "atc.argv").read_text().splitlines() if ran else None


@pytest.mark.parametrize("device,cann,chip", [("ascend310b4", "8.0.0", "310B4"), ("ascend310b1", "8.5.0", "310B1"),
                                              ("ascend310p3", "8.2.RC1", "310P3"), ("ascend310", "8.2.RC1", "310"),
                                              ("ascend310b4", "6.2.RC1", None), ("ascend310p3", "8.0.0", "710")])
def test_a_matching_cann_and_chip_compile_for_the_family(tmp_path, spec, device, cann, chip):
    r, ran, argv = _run_convert(tmp_path, spec, device, cann, chip)
    assert r.returncode == 0, r.stderr
    assert f"--soc_version={DEVICES[device].soc_version}" in argv
    assert f"CANN {cann}" in r.stdout


@pytest.mark.parametrize("device,cann,chip,code,message", [
    ("ascend310", "8.3.RC1", None, 3, "CANN 8.3.RC1 no longer lists Ascend310 (the last that does is 8.2)"),
    ("ascend310b4", "6.0.1", None, 3, "CANN 6.0.1 is older than 6.2, the first whose atc lists Ascend310B4"),
    ("ascend310b4", "8.0.0", "310B1", 4, "re-export with: edgematte export --to om --device ascend310b1"),
    ("ascend310p3", "8.0.0", "310B4", 4, "the NPU of this board is 310B4, but the bundle is for Ascend310P3"),
    ("ascend310b4", None, None, 3, "no CANN toolkit found"),
    ("ascend310b4", "unknown", None, 3, "cannot read the CANN version in"),
])
def test_a_cann_or_chip_mismatch_stops_before_atc_with_what_to_do(tmp_path, spec, device, cann, chip, code, message):
    r, ran, _ = _run_convert(tmp_path, spec, device, cann, chip)
    assert (r.returncode, ran) == (code, False)
    assert message in r.stderr and r.stderr.startswith("Error: ")


def test_the_checks_can_be_skipped_on_purpose(tmp_path, spec):
    r, ran, _ = _run_convert(tmp_path, spec, "ascend310b4", "8.0.0", "310B1", skip=True)
    assert r.returncode == 0 and ran


def test_an_older_cann_under_arm64_linux_is_found_and_the_board_runtime_it_needs_is_said(tmp_path, spec):
    r, ran, _ = _run_convert(tmp_path, spec, "ascend310", "5.0.4", "310", arch="arm64")
    assert r.returncode == 0 and ran, r.stderr
    assert "arm64-linux" in r.stdout and "The .om will need CANN 5.0.4 or newer on the board" in r.stdout
