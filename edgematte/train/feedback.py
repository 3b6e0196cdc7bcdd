"""Training on the model's own feedback: short clips in which the previous alpha fed at frame t is, with a
probability that rises over the run, the model's own (detached) output at t-1, as the deployed loop feeds it.

Why: trained only on previous alphas made from the ground truth (blanked, moved, relit), the 4-channel model
meets its own haze and lag for the first time on the board, an exposure bias (docs/temporal.md). Scheduled
sampling (Bengio et al. 2015, arXiv 1506.03099) mixes the model's own predictions into training with a
probability that grows as the model learns; RVM (arXiv 2108.11515) trains its recurrent state over clips of
consecutive frames. Frame 0 of a clip gets the ground-truth recipe (dropout, affine); frames 1..k-1 get the
model's own output with probability :meth:`FeedbackConfig.own_probability` (rising from 0 over ``ramp``
steps), else the ground-truth recipe.

The temporal-coherence term is RVM's: the MSE between the predicted and the true alpha's change from one frame to
the next, weighted 5 (RobustVideoMatting ``train_loss.py``, ``pha_coherence``). It penalises exactly what dtSSD
measures (a change the ground truth does not have), and is zero for a model that is wrong the same way on every
frame, so it cannot trade accuracy for stillness by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

COHERENCE_WEIGHT = 5.0  # RVM's weight on its alpha coherence term
OPTIONS = {"frames": "clip_frames", "own": "own_feedback", "ramp": "own_ramp", "coherence": "coherence"}  # the flags


@dataclass(frozen=True)
class FeedbackConfig:
    frames: int = 1          # k: consecutive frames per training clip (1: single frames, no own feedback)
    own: float = 0.0         # the most probability that a frame's previous alpha is the model's own output
    ramp: int = 1000         # the steps over which that probability rises linearly from 0 (in steps, not a share
                             # of the run: a run resumed with more --iterations keeps its schedule, so it is exact)
    coherence: float = 0.0   # weight of the temporal-coherence term (COHERENCE_WEIGHT: RVM's)

    def own_probability(self, step: int) -> float:
        """The probability at ``step`` (0-based) that a clip frame after the first is fed the model's own output."""
        if self.frames < 2 or self.own <= 0:
            return 0.0
        return self.own if self.ramp <= 0 else self.own * min(1.0, step / self.ramp)

    def problems(self) -> list[str]:
        """What is wrong with these settings, as the options name them."""
        out = []
        if self.frames < 1:
            out.append(f"--clip-frames {self.frames} must be at least 1")
        if not 0.0 <= self.own <= 1.0:
            out.append(f"--own-feedback {self.own:g} is a probability: give a number from 0 to 1")
        if self.own > 0 and self.frames < 2:
            out.append(f"--own-feedback {self.own:g} needs clips of 2 or more frames: add --clip-frames 3")
        if self.ramp < 0:
            out.append(f"--own-ramp {self.ramp} is a number of steps: give 0 or more")
        if not self.coherence >= 0.0:
            out.append(f"--coherence {self.coherence:g} is a loss weight: give 0 or more")
        if self.coherence > 0 and self.frames < 2:
            out.append(f"--coherence {self.coherence:g} compares consecutive frames: add --clip-frames 3")
        return out


def unroll(model, images, previous, own) -> list:
    """``model.forward_train`` over a batch of clips (``images`` B×k×3×H×W, ground-truth-recipe previous alphas
    ``previous`` B×k×1×H×W, ``own`` B×k booleans): frame t's second input is the model's own detached matte of
    frame t-1 where ``own[:, t]``, else ``previous[:, t]``. Returns each frame's outputs, in order."""
    import torch

    outputs, last = [], None
    for t in range(images.shape[1]):
        fed = previous[:, t]
        if last is not None:
            fed = torch.where(own[:, t].view(-1, 1, 1, 1), last.detach().clamp(0, 1).to(fed.dtype), fed)
        out = model.forward_train(images[:, t], fed)
        outputs.append(out)
        last = out[-1]  # the matte
    return outputs


def coherence_loss(mattes: list, alphas):
    """RVM's alpha coherence: MSE between the predicted and the true frame-to-frame change (``mattes``: one
    B×1×H×W per frame; ``alphas``: B×k×1×H×W), unweighted."""
    import torch
    import torch.nn.functional as F

    predicted = torch.stack([m.float() for m in mattes], dim=1)
    return F.mse_loss(predicted[:, 1:] - predicted[:, :-1], alphas[:, 1:] - alphas[:, :-1])
