"""Published Ascend latencies, and the cost model (:mod:`edgematte.costmodel`) checked against them.

Every point is a batch-1 (or stated batch) throughput from Ascend's own ModelZoo (gitee/github
``Ascend/ModelZoo-PyTorch``, ``ACL_PyTorch``; snapshot of 2023-12-15), measured with the ``benchmark`` /
``ais_bench`` tools (each ``source`` is a model folder; the numbers are in its read-me's performance
table) on an ``atc``-converted ONNX in FP16 (atc's default precision mode). The first-generation
310 column is per Atlas 300 card, four chips ("310*4", or "x4 = 310单卡吞吐率"), so one chip's time per batch
is ``batch x 4 / fps``. The networks are rebuilt in :mod:`edgematte.bench.reference_nets`.

One point per chip is used to fit that chip's per-operator overhead (:data:`FIT_POINTS`); every other point
is held out. ``python -m edgematte.bench.published`` prints the fit and the table docs/performance.md shows.
"""

from __future__ import annotations

from dataclasses import dataclass

_ZOO = "Ascend/ModelZoo-PyTorch ACL_PyTorch/"


@dataclass(frozen=True)
class Published:
    model: str          # a reference_nets name
    soc_version: str
    batch: int
    fps: float          # images per second, as published
    source: str
    chips: int = 1      # chips the published figure covers

    @property
    def seconds(self) -> float:
        """One chip's time for one batch."""
        return self.batch * self.chips / self.fps

    @property
    def key(self) -> tuple[str, str, int]:
        return self.model, self.soc_version, self.batch


_MNV1 = _ZOO + "contrib/cv/classfication/MobileNet-v1"
_VGG = _ZOO + "contrib/cv/classfication/VGG16"
_SQZ = _ZOO + "contrib/cv/classfication/Squeezenet1_1"
_MNV2 = _ZOO + "built-in/cv/MobileNetV2_for_Pytorch"
POINTS: tuple[Published, ...] = (
    Published("mobilenet_v1", "Ascend310", 1, 4550.44, _MNV1, chips=4),
    Published("mobilenet_v1", "Ascend310P3", 1, 4076.18, _MNV1),
    Published("mobilenet_v1", "Ascend310B1", 1, 1465.73, _MNV1),
    Published("resnet18", "Ascend310", 1, 787.709, _ZOO + "contrib/cv/classfication/ResNet18"),
    Published("resnet18", "Ascend310P3", 1, 2864.96, _ZOO + "built-in/cv/Resnet18_for_PyTorch"),
    Published("vgg16", "Ascend310", 1, 460.68, _VGG, chips=4),
    Published("vgg16", "Ascend310P3", 1, 465.54, _VGG),
    Published("vgg16", "Ascend310B1", 1, 108.68, _VGG),
    Published("squeezenet1_1", "Ascend310P3", 1, 4849.7, _SQZ),
    Published("squeezenet1_1", "Ascend310B1", 1, 3146.63, _SQZ),
    Published("mobilenet_v2", "Ascend310P3", 4, 7072.0, _MNV2),
    Published("mobilenet_v2", "Ascend310B1", 4, 1488.1, _MNV2),
)
# The point each chip's overhead is fitted on: MobileNetV1 has many small operators (so its time is most
# sensitive to the overhead) and is published for all three chips. The 310B4 has no published point: it takes
# the 310B1's overhead (same chip generation and runtime).
FIT_POINTS = {"Ascend310": ("mobilenet_v1", "Ascend310", 1), "Ascend310P3": ("mobilenet_v1", "Ascend310P3", 1),
              "Ascend310B1": ("mobilenet_v1", "Ascend310B1", 1), "Ascend310B4": ("mobilenet_v1", "Ascend310B1", 1)}

# The field report's MODNet figure (HiLens Kit, omg FP16, 384x384): unverified (ascend-hilens-facts.md §6).
FIELD_REPORT = {"soc_version": "Ascend310", "size": (384, 384), "infer_ms": 44.0,
                "source": "the field report we build on (unverified: no public MODNet latency on the 310 exists)"}


def _ops(model: str, batch: int, cache: dict):
    from edgematte.costmodel import ops_from_onnx
    from edgematte.bench.reference_nets import reference_onnx

    if (model, batch) not in cache:
        cache[(model, batch)] = ops_from_onnx(reference_onnx(model, batch), data_inputs={"input"})
    return cache[(model, batch)]


def fit_overhead(soc_version: str, cache: dict | None = None) -> float:
    """The per-operator overhead that makes the model meet :data:`FIT_POINTS`' point for this chip."""
    import dataclasses

    from edgematte.costmodel import CHIPS, predict

    cache = {} if cache is None else cache
    key = FIT_POINTS[soc_version]
    point = next(p for p in POINTS if p.key == key)
    chip = dataclasses.replace(CHIPS[point.soc_version], op_overhead_s=0.0)
    pred = predict(_ops(point.model, point.batch, cache), chip)
    return (point.seconds - pred.seconds) / pred.launched


def comparison(cache: dict | None = None) -> list[dict]:
    """Predicted vs published for every point, marking the fitted ones."""
    from edgematte.costmodel import CHIPS, predict

    cache = {} if cache is None else cache
    rows = []
    for p in POINTS:
        predicted = predict(_ops(p.model, p.batch, cache), CHIPS[p.soc_version]).seconds
        rows.append({"model": p.model, "soc_version": p.soc_version, "batch": p.batch,
                     "published_ms": round(p.seconds * 1e3, 3), "predicted_ms": round(predicted * 1e3, 3),
                     "error": round(predicted / p.seconds - 1, 3), "fitted": FIT_POINTS[p.soc_version] == p.key,
                     "source": p.source})
    return rows


def comparison_table(rows: list[dict]) -> str:
    lines = ["| network (224×224) | chip | batch | published ms | predicted ms | error | |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['soc_version']} | {r['batch']} | {r['published_ms']:.3f} | "
                     f"{r['predicted_ms']:.3f} | {100 * r['error']:+.0f} % | "
                     f"{'fitted (overhead)' if r['fitted'] else 'held out'} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the maintainer's tool for docs/performance.md
    from edgematte.costmodel import CHIPS

    cache: dict = {}
    for soc in CHIPS:
        print(f"{soc}: fitted overhead {fit_overhead(soc, cache) * 1e6:.1f} us (in CHIPS: "
              f"{CHIPS[soc].op_overhead_s * 1e6:.1f} us)")
    rows = comparison(cache)
    print(comparison_table(rows))
    held = [abs(r["error"]) for r in rows if not r["fitted"]]
    print(f"held out: {len(held)} points, median |error| {100 * sorted(held)[len(held) // 2]:.0f} %, "
          f"largest {100 * max(held):.0f} %")
