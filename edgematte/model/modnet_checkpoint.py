"""Loading MODNet checkpoints (official 3-channel, or edgematte's 4-channel) into :class:`MODNet4`.

Official files are plain ``nn.DataParallel`` state_dicts (keys with or without ``module.``; the
backbone under two alias keys). They are inflated to 4 input channels by inserting zero weights for the
alpha right after the image channels of every convolution that sees the image, so the 4-channel model
computes exactly what the 3-channel one did, whatever the previous alpha.

edgematte's own checkpoints are ``{"edgematte": <CheckpointMeta>, "state_dict": {...}}``.
Every file is read with ``torch.load(..., weights_only=True)``: no code in a checkpoint ever runs.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from edgematte.checksum import sha256_of
from edgematte.errors import CheckpointError, shorten
from edgematte.model.modnet4 import ALPHA_CHANNELS, IMAGE_CHANNELS, IMAGE_INPUT_SLOTS, IN_CHANNELS, MODNet4

FORMAT = "edgematte-modnet4"
STEM_KEY = "backbone.model.features.0.0.weight"
_ALIAS = ("backbone.", "lr_branch.backbone.")
_SHOW = 3  # how many key names an error message lists


@dataclass(frozen=True)
class CheckpointMeta:
    """The record saved with edgematte checkpoints (and reported for official ones)."""

    in_channels: int = IN_CHANNELS
    align_corners: bool = False
    preset: str | None = None
    format: str = FORMAT
    version: int = 1
    feedback: bool = True  # trained on a previous alpha (False: on zeros only; the apps must feed it zeros)


@dataclass(frozen=True)
class LoadedCheckpoint:
    """What was loaded, and from what."""

    model: MODNet4
    meta: CheckpointMeta
    source: str          # "official-3ch" | "edgematte" | "embedded-default"
    inflated: bool       # True when a 3-channel checkpoint was widened
    trained: bool        # False for the embedded default (random weights)
    path: str | None = None
    sha256: str | None = None
    file_keys: int | None = None         # tensors stored in the file
    file_in_channels: int | None = None  # the stem's input channels as stored (3: official)

    def describe(self) -> dict:
        return {"source": self.source, "path": self.path, "sha256": self.sha256, "inflated": self.inflated,
                "trained": self.trained, "meta": dataclasses.asdict(self.meta), "file_keys": self.file_keys,
                "file_in_channels": self.file_in_channels}


def default_model(seed: int, align_corners: bool = False) -> LoadedCheckpoint:
    """The embedded default: the network with a fixed seed. Its weights are untrained."""
    torch.manual_seed(seed)
    model = MODNet4(align_corners=align_corners).eval()
    return LoadedCheckpoint(model, CheckpointMeta(align_corners=align_corners), "embedded-default",
                            inflated=False, trained=False)


def read_checkpoint_file(path: str | os.PathLike, what: str = "the MODNet .ckpt file"
                         ) -> tuple[dict[str, torch.Tensor], CheckpointMeta | None]:
    """Read a checkpoint file safely: (state_dict without ``module.``, edgematte metadata or None).

    Accepted layouts: a bare state_dict; ``{"state_dict": ...}``; a training script's
    ``{"epoch", "model": state_dict, "optimizer"}``; edgematte's ``{"edgematte": record, "state_dict"}``.
    ``what``: the file to ask for in messages."""
    path = Path(path)
    return unpack_checkpoint(path, load_object(path, what), what)


def load_object(path: Path, what: str):
    """``torch.load(path, weights_only=True)``, its failures as one-line :class:`CheckpointError`."""
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder; give the .ckpt/.pth file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pickle-protocol notes; failures still raise
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError,
            AttributeError, TypeError, ImportError, IndexError, KeyError) as e:
        text = " ".join(str(e).split())
        # torch's weights-only unpickler met a Python object to construct: "Unsupported global: GLOBAL x.y was
        # not an allowed global", or "unsupported GLOBAL posix.system whose module posix is blocked"
        found = re.search(r"(?i)unsupported(?: global:)? (GLOBAL [\w.]+)", text)
        if found:
            blocked = found.group(1)
            raise CheckpointError(f"{path} holds pickled Python objects besides tensors ({shorten(blocked, 120)}); "
                                  f"edgematte loads checkpoints weights-only, so that code was blocked and never "
                                  f"ran. Give a plain state_dict, re-saved from the file where you trust it") from None
        if "WeightsUnpickler error:" in text:
            text = "the weights-only loader refused it: " + text.split("WeightsUnpickler error:", 1)[1].strip()
        reason = shorten(text) if text else type(e).__name__
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({reason}); "
                              f"give {what} (a state_dict saved with torch.save)") from None
    return obj


def unpack_checkpoint(path: Path, obj, what: str) -> tuple[dict[str, torch.Tensor], CheckpointMeta | None]:
    """The state_dict (without ``module.``) and edgematte record in a loaded checkpoint object."""
    meta = None
    if isinstance(obj, dict) and "edgematte" in obj:
        meta = _read_meta(path, obj["edgematte"])
        obj = obj.get("state_dict")
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    elif isinstance(obj, dict) and isinstance(obj.get("model"), dict):  # {"epoch", "model", "optimizer"}
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state_dict of tensors; give {what}")
    return {_strip_prefix(k): v for k, v in obj.items()}, meta


def _read_meta(path: Path, record) -> CheckpointMeta:
    """The edgematte record, checked field by field: a record that lies would build the wrong network."""
    types = {"in_channels": int, "align_corners": bool, "preset": (str, type(None)), "format": str, "version": int,
             "feedback": bool}
    if not isinstance(record, dict) or set(record) - set(types):
        extra = sorted(set(record) - set(types)) if isinstance(record, dict) else type(record).__name__
        raise CheckpointError(f"{path} has an edgematte record this version cannot read ({extra}); "
                              f"upgrade edgematte or give the plain state_dict")
    bad = [f"{k}={v!r}" for k, v in record.items()
           if not isinstance(v, types[k]) or (types[k] is int and isinstance(v, bool))]
    if record.get("format", FORMAT) != FORMAT or record.get("version", 1) != 1:
        bad.append(f"format {record.get('format')!r} version {record.get('version')!r}")
    if record.get("in_channels", IN_CHANNELS) != IN_CHANNELS:
        bad.append(f"in_channels={record.get('in_channels')!r} (edgematte checkpoints have {IN_CHANNELS})")
    if bad:
        raise CheckpointError(f"{path} has a malformed edgematte record: {', '.join(bad)}; "
                              f"re-save it with edgematte train, or give the plain state_dict")
    return CheckpointMeta(**record)


def check_values(path: Path, state: dict[str, torch.Tensor]) -> None:
    """Weights must be floating point and finite (integer counters aside); name the ones that are not."""
    bad = [f"{k} ({'not float: ' + str(v.dtype) if not v.is_floating_point() else 'NaN or inf'})"
           for k, v in state.items() if not k.endswith("num_batches_tracked")
           and (not v.is_floating_point() or not bool(torch.isfinite(v).all()))]
    if bad:
        more = f", +{len(bad) - _SHOW} more" if len(bad) > _SHOW else ""
        raise CheckpointError(f"{path} has {len(bad)} tensors that are not finite floating-point weights: "
                              f"{', '.join(bad[:_SHOW])}{more}; the training run that wrote it diverged or the "
                              f"file is damaged")


def _strip_prefix(key: str) -> str:
    return key[len("module."):] if key.startswith("module.") else key


def _fill_aliases(state: dict[str, torch.Tensor]) -> None:
    """A file that stores the shared backbone under only one of its two names still loads."""
    for have, want in (_ALIAS, _ALIAS[::-1]):
        for key in [k for k in state if k.startswith(have) and not k.startswith(want)]:
            state.setdefault(want + key[len(have):], state[key])


def inflate_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Widen a 3-channel MODNet state_dict to RGB + alpha with zero weights for the alpha."""
    out = dict(state)
    for key, start in IMAGE_INPUT_SLOTS.items():
        if key in out:
            w = out[key]
            at = start + IMAGE_CHANNELS
            zeros = w.new_zeros((w.shape[0], ALPHA_CHANNELS, *w.shape[2:]))
            out[key] = torch.cat((w[:, :at], zeros, w[:, at:]), dim=1)
    return out


def check_keys(path: Path, state: dict[str, torch.Tensor], model: torch.nn.Module, what: str = "a MODNet") -> None:
    """Raise :class:`CheckpointError` listing missing, unexpected and mis-shaped keys against ``model``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    misshaped = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
                 if k in state and state[k].shape != v.shape]
    if not (missing or unexpected or misshaped):
        return
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped)):
        if items:
            more = f", +{len(items) - _SHOW} more" if len(items) > _SHOW else ""
            parts.append(f"{len(items)} {label} ({', '.join(items[:_SHOW])}{more})")
    raise CheckpointError(f"{path} is not {what} checkpoint: {'; '.join(parts)}")


def load_checkpoint(path: str | os.PathLike, align_corners: bool | None = None) -> LoadedCheckpoint:
    """Load an official 3-channel or an edgematte 4-channel MODNet checkpoint as a 4-channel model.

    ``align_corners`` overrides the resize semantics recorded in the file (official files: False).
    """
    path = Path(path)
    state, meta = read_checkpoint_file(path)
    file_keys = len(state)
    _fill_aliases(state)
    stem = state.get(STEM_KEY)
    channels = stem.shape[1] if stem is not None and stem.dim() == 4 else None
    inflated = channels == IMAGE_CHANNELS
    # Shapes are checked against the architecture of the file's own width, so messages quote its shapes;
    # built on the meta device: shapes only, no memory, no init.
    with torch.device("meta"):
        check_keys(path, state, MODNet4(in_channels=IMAGE_CHANNELS if inflated else IN_CHANNELS))
    check_values(path, state)
    if inflated:
        state = inflate_state_dict(state)
    recorded = meta is not None
    if meta is None:
        meta = CheckpointMeta(in_channels=IN_CHANNELS)
    if align_corners is not None:
        meta = dataclasses.replace(meta, align_corners=align_corners)
    model = MODNet4(align_corners=meta.align_corners)
    model.load_state_dict(state, strict=False)
    model.eval()
    source = "official-3ch" if inflated else ("edgematte" if recorded else "4ch-state-dict")
    return LoadedCheckpoint(model, meta, source, inflated=inflated, trained=True, path=str(path),
                            sha256=sha256_of(path), file_keys=file_keys,
                            file_in_channels=int(channels) if channels else None)


def save_checkpoint(model: MODNet4, path: str | os.PathLike, preset: str | None = None, feedback: bool = True) -> Path:
    """Save a 4-channel checkpoint with its metadata record (``feedback`` False: it was trained on zero previous
    alphas only, and is to be fed zeros); written to a temporary file, then renamed."""
    path = Path(path)
    meta = CheckpointMeta(in_channels=model.in_channels, align_corners=model.align_corners, preset=preset,
                          feedback=feedback)
    return save_atomically({"edgematte": dataclasses.asdict(meta), "state_dict": model.state_dict()}, path)


def save_atomically(payload: dict, path: Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then renamed: never a half-written checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
