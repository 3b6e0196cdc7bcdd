"""The training loop: one machine or many (``torchrun``; gloo on CPU, nccl on GPU) with no code change.

Batches are drawn per step from ``(seed, step)``, and each sample from ``(seed, step, index)``: a run
resumed at step k sees exactly the batches an uninterrupted run sees, and N processes each take their
slice of the same global batch. Checkpoints carry edgematte's metadata (channels, resize mode, preset),
so ``export`` picks the right lowering.

Two networks (``TrainConfig.model``): MODNet (its samples, losses and checkpoints) and SHM's M-Net (its
samples from :mod:`edgematte.train.mnet_samples`, alpha and compositional L1 over the unknown band, Adam with
weight decay 5e-4, checkpoints in the training script's layout). :class:`_Task` holds what differs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from edgematte.errors import EdgematteError, OutputExistsError, shorten
from edgematte.spec import PipelineSpec
from edgematte.train.augment import AugmentConfig
from edgematte.train.feedback import FeedbackConfig

CHECKPOINT_FILE = "checkpoint.ckpt"
STATE_FILE = "train_state.pt"
METRICS_FILE = "metrics.jsonl"
RUN_FILES = (CHECKPOINT_FILE, STATE_FILE, METRICS_FILE)  # what makes a folder an edgematte run


class TrainError(EdgematteError):
    pass


@dataclass
class TrainConfig:
    data: str
    out: str
    kind: str = "video"
    backgrounds: str | None = None
    init: str | None = None
    align_corners: bool = False
    iterations: int = 1000
    batch_size: int = 8
    lr: float = 1e-4
    optimizer: str = "adamw"
    seed: int = 0
    save_every: int = 100
    freeze_bn: bool = False  # BatchNorm on its running statistics (small batches; makes N processes == one)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)  # clips and own feedback (train/feedback.py)
    model: str = "modnet4"   # spec.MODELS: the network to train
    width: float | None = None  # M-Net's width without --init (default full)
    trimaps_from: str | None = None  # M-Net: a MODNet checkpoint; train on the trimaps the device makes from it


@dataclass
class TrainResult:
    out: Path
    steps: int
    losses: list[float]
    checkpoint: Path
    seconds_per_step: float
    model: str = "modnet4"

    def summary(self) -> str:
        first, last = self.losses[:5], self.losses[-5:]
        return (f"Trained to step {self.steps}: loss {sum(first) / len(first):.4f} (first 5) -> "
                f"{sum(last) / len(last):.4f} (last 5), {self.seconds_per_step:.2f} s per step. "
                f"Checkpoint: {self.checkpoint}")

    def next_step(self) -> str:
        """The export command that puts this checkpoint to use."""
        from edgematte.networks import REFINERS

        if self.model in REFINERS:
            return f"Next: edgematte export --to om --refiner {self.model} --refiner-checkpoint {self.checkpoint}"
        return f"Next: edgematte export --checkpoint {self.checkpoint} --out out/hilens"


class _TrainForward(torch.nn.Module):
    """Makes ``forward_train`` the module's forward, so DistributedDataParallel can wrap it; a batch of clips
    (B×k×C×H×W, with ``own``) is unrolled frame by frame in one forward (:func:`feedback.unroll`)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image, second, own=None):
        if own is None:
            return self.model.forward_train(image, second)
        from edgematte.train.feedback import unroll

        return unroll(self.model, image, second, own)


class ModnetTask:
    """What training MODNet needs: its samples, model, losses and checkpoint file (M-Net: :class:`MnetTask`)."""

    second = "prev_alpha"  # the batch key of the network's second input

    def __init__(self, cfg: TrainConfig, spec: PipelineSpec):
        self.cfg, self.spec = cfg, spec

    def builder(self):
        from edgematte.train.datasets import SampleBuilder

        return SampleBuilder(self.spec, self.cfg.augment)

    def model(self, resume_from: Path | None):
        from edgematte.model.modnet_checkpoint import default_model, load_checkpoint

        if resume_from is not None:
            return load_checkpoint(resume_from).model
        if self.cfg.init:
            model = load_checkpoint(self.cfg.init, align_corners=self.cfg.align_corners).model
        else:
            model = default_model(self.cfg.seed, self.cfg.align_corners).model
        model.align_corners = self.cfg.align_corners
        return model

    def optimizer(self, params):
        return _make_optimizer(self.cfg, params)

    def losses(self, outputs, batch) -> dict:
        from edgematte.train.losses import modnet_losses

        semantic, detail, matte = outputs
        return modnet_losses(semantic.float(), detail.float(), matte.float(), batch["alpha"], batch["trimap"],
                             batch["image"])

    def clip_losses(self, outputs: list, batch) -> dict:
        """A clip's losses: each frame's :meth:`losses`, averaged over the frames, plus the temporal-coherence
        term (``coherence``, already weighted) when the run asks for it."""
        from edgematte.train.feedback import coherence_loss

        frames = [self.losses(out, {k: v[:, t] for k, v in batch.items() if v.dim() > 2})
                  for t, out in enumerate(outputs)]
        parts = {k: sum(f[k] for f in frames) / len(frames) for k in frames[0]}
        weight = self.cfg.feedback.coherence
        if weight > 0:
            parts["coherence"] = weight * coherence_loss([out[-1] for out in outputs], batch["alpha"])
            parts["loss"] = parts["loss"] + parts["coherence"]
        return parts

    def save(self, model, path: Path, step: int) -> None:
        from edgematte.model.modnet_checkpoint import save_checkpoint

        # a model that only ever saw zeros as its previous alpha must be fed zeros (recipes.py, a-plain)
        save_checkpoint(model, path, preset=self.spec.name, feedback=self.cfg.augment.prev_dropout < 1.0)


class MnetTask(ModnetTask):
    second = "trimap"
    WEIGHT_DECAY = 5e-4  # the M-Net reproductions' Adam

    def builder(self):
        from edgematte.train.mnet_samples import MNetSampleBuilder, ModnetGuide

        guide = None
        if self.cfg.trimaps_from:
            from edgematte.model.modnet_checkpoint import load_checkpoint
            from edgematte.spec import DEFAULT_PRESET, resolve_spec

            loaded = load_checkpoint(self.cfg.trimaps_from)
            size = (loaded.meta.preset or "").rpartition("-")[2]  # edgematte records the size it trained at
            guide = ModnetGuide(loaded.model, resolve_spec(DEFAULT_PRESET, size if "x" in size else None))
        return MNetSampleBuilder(self.spec, guide)

    def model(self, resume_from: Path | None):
        from edgematte.model.mnet_checkpoint import default_mnet, load_mnet_checkpoint

        if resume_from is not None or self.cfg.init:
            loaded = load_mnet_checkpoint(resume_from or self.cfg.init)
            if self.cfg.width is not None and loaded.model.width != self.cfg.width:
                raise TrainError(f"--width {self.cfg.width:g} differs from {self.cfg.init}'s width "
                                 f"{loaded.model.width:g}; leave --width out")
            return loaded.model
        return default_mnet(self.cfg.seed, self.cfg.width or 1.0).model

    def optimizer(self, params):
        if self.cfg.optimizer != "adam":
            return _make_optimizer(self.cfg, params)
        return torch.optim.Adam(params, lr=self.cfg.lr, weight_decay=self.WEIGHT_DECAY), None

    def losses(self, outputs, batch) -> dict:
        from edgematte.train.losses import mnet_losses

        _raw, fused = outputs
        if not (batch["trimap"] == 0.5).any():
            raise TrainError("no sample of this batch has an unknown band in its trimap (hard 0/1 mattes?): M-Net "
                             "learns only in the band, so its loss would be 0; give mattes with soft edges (hair, "
                             "motion blur) or train MODNet")
        return mnet_losses(fused.float(), batch["alpha"], batch["trimap"], batch["image"], batch["fg"], batch["bg"])

    def save(self, model, path: Path, step: int) -> None:
        from edgematte.model.mnet_checkpoint import save_mnet_checkpoint

        save_mnet_checkpoint(model, path, step=step)


def _task(cfg: TrainConfig, spec: PipelineSpec) -> ModnetTask:
    record = spec.network
    fb = cfg.feedback
    try:
        record.refuse_options(trimaps_from=cfg.trimaps_from, width=cfg.width, align_corners=cfg.align_corners,
                              clip_frames=fb.frames > 1 and fb.frames, own_feedback=fb.own > 0 and fb.own,
                              coherence=fb.coherence > 0 and fb.coherence)
    except EdgematteError as e:
        raise TrainError(str(e)) from None
    problems = fb.problems()
    if problems:
        raise TrainError("; ".join(problems))
    return record.training_task(cfg, spec)


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


def _batch(source, builder, cfg: TrainConfig, step: int, rank: int, world: int) -> dict[str, torch.Tensor]:
    if cfg.batch_size % world:
        raise TrainError(f"--batch-size {cfg.batch_size} must divide by the {world} processes")
    rng = np.random.default_rng([cfg.seed, step])
    indices = rng.choice(len(source), size=cfg.batch_size, replace=len(source) < cfg.batch_size)
    per = cfg.batch_size // world
    frames = cfg.feedback.frames
    samples = []
    for i in range(rank * per, (rank + 1) * per):
        sample_rng = np.random.default_rng([cfg.seed, step, i])
        if frames == 1:
            samples.append(builder(source.item(int(indices[i]), sample_rng), sample_rng))
        else:
            samples.append(builder.clip(source.clip(int(indices[i]), frames, sample_rng), sample_rng))
    batch = {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in samples[0]}
    if frames > 1:  # which frames get the model's own previous output (the first never: nothing precedes it)
        batch["own"] = batch.pop("own_draw") < cfg.feedback.own_probability(step)
        batch["own"][:, 0] = False
    return batch


def _make_optimizer(cfg: TrainConfig, params):
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4), None
    if cfg.optimizer == "sgd":  # MODNet's schedule: momentum 0.9, lr x0.1 every quarter of the run
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, cfg.iterations // 4), gamma=0.1)
    raise TrainError(f"unknown optimizer {cfg.optimizer!r}; use adamw or sgd" + (" (or adam for M-Net)"
                                                                                if cfg.optimizer == "adam" else ""))


def train(cfg: TrainConfig, spec: PipelineSpec, resume: bool = False, force: bool = False,
          log: Callable[[str], None] = lambda _: None, on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    from edgematte.train.datasets import open_source

    task = _task(cfg, spec)
    rank, world = _distributed()
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()) and rank == 0:
        if not (resume or force):
            raise OutputExistsError(f"{out} already has a run; pass --resume to continue it or --force to start over")
        if force and not any((out / name).exists() for name in RUN_FILES):
            raise OutputExistsError(f"{out} holds files but no edgematte run ({', '.join(RUN_FILES)}); --force starts "
                                    f"over only in a run folder: choose another --out")
    if cfg.init and (out / CHECKPOINT_FILE).exists() and Path(cfg.init).resolve() == (out / CHECKPOINT_FILE).resolve():
        raise OutputExistsError(f"--init {cfg.init} is the checkpoint this run writes; copy it out of --out first")
    state_path, ckpt_path = out / STATE_FILE, out / CHECKPOINT_FILE
    if resume and (not state_path.exists() or not ckpt_path.exists()):
        raise TrainError(f"nothing to resume in {out}: {STATE_FILE} or {CHECKPOINT_FILE} is missing")
    state = _read_state(state_path) if resume else None  # before any work: a bad state file fails at once
    if state is not None:
        _check_resumable(state, ckpt_path, cfg, spec)
    source = open_source(cfg.data, cfg.backgrounds, cfg.kind)
    source.require_frames(cfg.feedback.frames)
    builder = task.builder()
    torch.manual_seed(cfg.seed)
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else torch.device("cpu")

    start, losses = 0, []
    model = task.model(ckpt_path if resume else None)
    if resume:
        start, losses = int(state["step"]), list(state["losses"])
    model.to(device).train()
    if cfg.freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
    elif world > 1 and device.type == "cuda":  # batch statistics over the global batch (no CPU kernel exists)
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net = _TrainForward(model)
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer, scheduler = task.optimizer(model.parameters())
    if resume:
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if amp else None
    if force and not resume and rank == 0:  # starting over: the old run's metrics must not mix with the new ones
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    if resume and rank == 0:  # steps logged after the last save (an interrupted run) are run again: drop them
        _truncate_metrics(out / METRICS_FILE, start)
    writer = _tensorboard(out) if rank == 0 else None
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for step in range(start, cfg.iterations):
        batch = {k: v.to(device) for k, v in _batch(source, builder, cfg, step, rank, world).items()}
        clips = "own" in batch
        with torch.autocast(device.type, enabled=amp):
            outputs = net(batch["image"], batch[task.second], batch["own"]) if clips else net(batch["image"], batch[task.second])
        parts = task.clip_losses(outputs, batch) if clips else task.losses(outputs, batch)
        _check_finite(parts["loss"], step, start, cfg, world)
        optimizer.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(parts["loss"]).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            parts["loss"].backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        values = {k: float(v.detach()) for k, v in parts.items()}
        if world > 1:  # the global batch's loss: the mean over processes
            t = torch.tensor(list(values.values()), device=device)
            torch.distributed.all_reduce(t)
            values = dict(zip(values, (t / world).tolist()))
        losses.append(values["loss"])
        if rank == 0:
            _record(out, step + 1, values, optimizer, writer)
            if on_step:
                on_step(step + 1, values["loss"])
            if (step + 1) % cfg.save_every == 0 or step + 1 == cfg.iterations:
                _save(model, optimizer, scheduler, out, step + 1, losses, cfg, task, spec)
    if world > 1:
        torch.distributed.barrier()
    steps = cfg.iterations - start
    return TrainResult(out, cfg.iterations, losses, ckpt_path, (time.perf_counter() - t0) / max(steps, 1), cfg.model)


def _read_state(path: Path) -> dict:
    """The trainer's state file, loaded weights-only (no code runs), with the keys resume needs."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError or EOFError for what it cannot read
        reason = shorten(str(e), 300)
        raise TrainError(f"{path} cannot be read as a training state ({type(e).__name__}: {reason}); "
                         f"start over with --force instead of --resume") from None
    needed = ("step", "losses", "optimizer")  # "scheduler" only with --optimizer sgd
    if not isinstance(state, dict) or any(k not in state for k in needed) or not isinstance(state["step"], int):
        raise TrainError(f"{path} is not an edgematte training state (needs {', '.join(needed)}); "
                         f"start over with --force instead of --resume")
    return state


def _check_finite(loss, step: int, start: int, cfg: TrainConfig, world: int) -> None:
    """Stop a run whose loss is no longer a number, before the step that would write NaN into the weights; the
    last saved checkpoint and state stay as they were (every process agrees, so none waits for another)."""
    finite = torch.isfinite(loss.detach()).float()
    if world > 1:
        torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
    if finite.item() < 1:
        saved = max(start, (step // cfg.save_every) * cfg.save_every)  # the step of the files on disk
        kept = (f"the checkpoint of step {saved} is kept; resume from it with a lower --lr" if saved
                else "nothing was saved")
        raise TrainError(f"the loss is not a number at step {step + 1} (diverged: --lr {cfg.lr:g} is likely too high "
                         f"for this data); {kept}")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop the metrics logged after ``step`` (and a line cut by an interruption), rewriting the file atomically."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line an interruption cut short
        if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= step:
            kept.append(line)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text("".join(line + "\n" for line in kept))
    os.replace(tmp, path)


def _record(out: Path, step: int, values: dict, optimizer, writer) -> None:
    with open(out / METRICS_FILE, "a") as f:
        f.write(json.dumps({"step": step, **values, "lr": optimizer.param_groups[0]["lr"]}) + "\n")
    if writer is not None:
        for k, v in values.items():
            writer.add_scalar(f"train/{k}", v, step)


def _run_config(cfg: TrainConfig, spec: PipelineSpec) -> dict:
    """What makes a run the run it is (``--resume`` must not change it): the settings, less the length and where
    the files are."""
    keep = {k: v for k, v in asdict(cfg).items() if k not in ("iterations", "save_every", "out", "data", "backgrounds")}
    fb = cfg.feedback  # by the options' names, so a changed one is named as the user typed it
    keep.pop("feedback")
    return {**keep, "augment": asdict(cfg.augment), "clip_frames": fb.frames, "own_feedback": fb.own,
            "own_ramp": fb.ramp, "coherence": fb.coherence, "size": f"{spec.width}x{spec.height}"}


def _check_resumable(state: dict, ckpt_path: Path, cfg: TrainConfig, spec: PipelineSpec) -> None:
    """The state and the checkpoint are from one save, and the run resumes with the settings it was started with."""
    from edgematte.checksum import sha256_of

    recorded_sha = state.get("checkpoint_sha256")
    if recorded_sha is not None and recorded_sha != sha256_of(ckpt_path):
        raise TrainError(f"{ckpt_path.name} and {STATE_FILE} in {ckpt_path.parent} are from different saves (the last "
                         f"save was interrupted), so --resume would pair one step's weights with another's optimizer; "
                         f"start over with --force, or copy {ckpt_path.name} out and start from it with --init")
    recorded = state.get("config")
    if isinstance(recorded, str):
        recorded = json.loads(recorded)
        recorded.setdefault("size", None)
    if not isinstance(recorded, dict):
        return  # a state from before the settings were recorded
    now = json.loads(json.dumps(_run_config(cfg, spec)))  # as recorded: tuples become lists
    changed = [f"--{key.replace('_', '-')} {now[key]!r} (the run has {recorded[key]!r})" for key in now
               if key in recorded and recorded[key] is not None and recorded[key] != now[key]]
    if changed:
        raise TrainError(f"--resume continues the run as it was started, but {'; '.join(changed)}: give the run's "
                         f"settings, or start over with --force")


def _save(model, optimizer, scheduler, out: Path, step: int, losses, cfg: TrainConfig, task: ModnetTask,
          spec: PipelineSpec) -> None:
    """The checkpoint, then the state that names it (its checksum): an interrupted save is found at --resume."""
    from edgematte.checksum import sha256_of

    task.save(model, out / CHECKPOINT_FILE, step)
    state = {"step": step, "losses": losses, "optimizer": optimizer.state_dict(),
             "config": json.dumps(_run_config(cfg, spec)), "checkpoint_sha256": sha256_of(out / CHECKPOINT_FILE)}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    tmp = out / (STATE_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, out / STATE_FILE)


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional: metrics.jsonl always has the scalars
        return None
    return SummaryWriter(str(out / "tensorboard"))
