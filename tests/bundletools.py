"""Helpers for tests that tamper with a bundle as a user (or an attacker) could."""

import json
from pathlib import Path

from edgematte.checksum import sha256_of


def edit_manifest(folder: Path, change) -> dict:
    """Apply ``change(manifest_dict)`` to the folder's manifest.json, written back as JSON."""
    path = Path(folder) / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))
    return data


def reseal(folder: Path) -> dict:
    """Record the current checksums of every listed file, so only the readers can tell a change."""
    def update(m):
        for rel, record in m["files"].items():
            record.update(sha256=sha256_of(Path(folder) / rel), bytes=(Path(folder) / rel).stat().st_size)
    return edit_manifest(folder, update)
