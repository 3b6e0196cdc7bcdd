"""Helpers for tests that drive the CLI as a user does."""

from click.testing import CliRunner

from edgematte.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_user_error(result, *fragments):
    """Exit status 1, no traceback, exactly one ``Error:`` line, holding every fragment."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def run_torchrun(*args, processes: int = 2):
    """``edgematte ARGS`` under torchrun with ``processes`` processes; the CompletedProcess."""
    import os
    import subprocess
    import sys

    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    return subprocess.run([torchrun, f"--nproc_per_node={processes}", "-m", "edgematte", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
