"""``edgematte verify``: re-check a bundle without PyTorch: checksums and unlisted files, then the files as the
device tools parse them, then every reader against the golden outputs (only when the files are sound)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgematte.bundle import Bundle
from edgematte.errors import BundleError
from edgematte.spec import PipelineSpec
from edgematte.verification.compare import CheckResult


@dataclass
class VerifyResult:
    folder: Path
    checks: list[CheckResult]
    file_problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.file_problems and bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "passed": self.passed, "file_problems": self.file_problems,
                "checks": [c.to_dict() for c in self.checks]}

    def lines(self) -> list[str]:
        return ([f"FAILED | files        | {p}" for p in self.file_problems] + [c.line() for c in self.checks]
                + [("PASSED" if self.passed else "FAILED") + f" | {self.folder}"])


def verify_bundle(folder: str | Path, log: Callable[[str], None] = lambda _: None) -> VerifyResult:
    """Re-check an export folder: checksums and unlisted files, then the files as the device tools parse
    them, then every reader against the golden outputs (only when the files are sound)."""
    from edgematte.verification.device_files import device_file_problems
    from edgematte.verification.golden import GoldenSet
    from edgematte.verification.readers import run_readers

    bundle = Bundle.open(folder)
    networks = [bundle] + ([bundle.refiner] if bundle.refiner is not None else [])
    problems = bundle.file_problems()
    problems = problems or [p for b in networks for p in device_file_problems(b)]
    checks: list[CheckResult] = []
    if not problems:
        for network in networks:
            golden_path = network.path("golden")
            try:
                golden = GoldenSet.load(golden_path, network.spec)
            except (OSError, ValueError) as e:
                raise BundleError(f"{golden_path} cannot be read ({e}); re-export the bundle") from None
            found = run_readers({role: network.path(role) for role in network.manifest.artifacts}, network.spec,
                                golden, network.manifest.atol, log)
            checks += found if network is bundle else label_checks(found, network.spec)
    return VerifyResult(bundle.folder, checks, problems)


def label_checks(checks: list[CheckResult], spec: PipelineSpec) -> list[CheckResult]:
    """A second network's checks named after it (``mnet.portrait``), beside the frame network's in one list."""
    return [dataclasses.replace(c, check=f"{spec.model}.{c.check}") for c in checks]
