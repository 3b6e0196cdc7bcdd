"""A bar chart of a bench report (model variants and loop stages, median and p90), drawn with OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def plot_report(report: dict, path: str | Path) -> Path:
    rows = [(f"model: {v['name']}", v["infer_ms"]) for v in report["variants"]]
    rows += [(f"loop: {stage}", s) for stage, s in report["loop"]["stages"].items()]
    rows.append(("loop: total", report["loop"]["total"]))
    scale_max = max(s["p90"] for _, s in rows) * 1.15
    width, label_w, row_h, top = 1000, 260, 34, 70
    img = np.full((top + row_h * len(rows) + 50, width, 3), 255, np.uint8)
    m = report["model"]
    title = f"edgematte bench: {m['preset']} ({m['width']}x{m['height']}), {report['machine']['cpu']}, " \
            f"{report['machine']['threads']} threads"
    cv2.putText(img, title, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "ms: bar = median, tick = p90", (10, 52), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (90, 90, 90), 1,
                cv2.LINE_AA)
    span = width - label_w - 90
    for i, (label, s) in enumerate(rows):
        y = top + i * row_h
        colour = (180, 120, 40) if label.startswith("model") else (60, 160, 60)
        x50 = label_w + int(span * s["p50"] / scale_max)
        x90 = label_w + int(span * s["p90"] / scale_max)
        cv2.putText(img, label, (10, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.rectangle(img, (label_w, y + 6), (max(x50, label_w + 1), y + row_h - 8), colour, -1)
        cv2.line(img, (x90, y + 3), (x90, y + row_h - 5), (0, 0, 0), 2)
        cv2.putText(img, f"{s['p50']:.1f}", (max(x50, x90) + 6, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(path)
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write {path}")
    return path
