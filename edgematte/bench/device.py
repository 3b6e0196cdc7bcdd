"""What ``bench --device`` reports: the cost model (:mod:`edgematte.costmodel`) applied to the graph each
route of a device family hands its compiler, as lines, JSON and the tables docs/performance.md shows."""

from __future__ import annotations

from edgematte.costmodel import CHIPS, Op, ops_from_caffe, ops_from_onnx, predict

MODEL_NOTE = ("a model of the chip (edgematte.costmodel; docs/performance.md has its constants, sources and "
              "error against published latencies), not a measurement")


def route_graphs(onnx_proto, spec, soc_version: str) -> dict[str, list[Op]]:
    """The graph each route hands its compiler on this chip: ``"caffe (omg)"`` where a family with this chip
    compiles Caffe with omg (the HiLens Kit), ``"onnx (atc)"`` where one compiles ONNX with atc."""
    from edgematte.devices import DEVICES

    graphs = {}
    for compiler in dict.fromkeys(d.compiler for d in DEVICES.values() if d.soc_version == soc_version):
        if compiler.reads == "caffe":
            from edgematte.export.caffe.export import CaffeExporter

            graphs[f"caffe ({compiler})"] = ops_from_caffe(CaffeExporter(spec).to_net(onnx_proto))
        else:
            prepared = compiler.prepare(onnx_proto)[0] if compiler.prepare is not None else onnx_proto
            graphs[f"onnx ({compiler})"] = ops_from_onnx(prepared)
    return graphs


def device_report(onnx_proto, spec, family, top: int = 8) -> dict:
    """Predicted inference time per route of ``family``'s chip, FP16 and INT8, with the costliest layers."""
    chip = CHIPS[family.soc_version]
    routes = []
    for name, ops in route_graphs(onnx_proto, spec, family.soc_version).items():
        fp16, int8 = predict(ops, chip), predict(ops, chip, "int8")
        routes.append({"route": name, "layers": len(ops), "fp16": fp16.to_dict(top),
                       "int8": {k: v for k, v in int8.to_dict(0).items() if k != "top"}})
    return {"device": family.name, "soc_version": chip.soc_version, "chip": chip.title,
            "size": [spec.width, spec.height], "routes": routes, "note": MODEL_NOTE}


def device_lines(r: dict, network: str = "MODNet") -> list[str]:
    lines = [f"{network} at {r['size'][0]}x{r['size'][1]} on {r['chip']} ({r['device']}), predicted by the cost "
             f"model, not measured:"]
    for route in r["routes"]:
        f, i = route["fp16"], route["int8"]
        lines.append(f"  {route['route']:<12} {route['layers']:>4} layers ({f['launched']} launched): FP16 "
                     f"{f['infer_ms']:.2f} ms ({f['fps']:.0f} fps), INT8 {i['infer_ms']:.2f} ms ({i['fps']:.0f} fps); "
                     + ", ".join(f"{k} {v:.2f}" for k, v in f["by_bound_ms"].items() if v) + " ms")
        for t in f["top"][:5]:
            lines.append(f"    {t['ms']:.3f} ms {t['bound']:<7} {t['type']:<13} {'x'.join(map(str, t['shape'])):<16} "
                         f"{t['name']}")
    if "loop" in r:
        from edgematte.bench.board import loop_lines

        lines += loop_lines(r["loop"])
    if "refiner" in r:
        lines += device_lines(r["refiner"], "the refiner (M-Net)")
    return lines


def chips_table() -> str:
    """The chip constants as Markdown (docs/performance.md shows it; a test keeps the two equal)."""
    rows = ["| chip | FP16 cube | INT8 cube | vector (FP16) | DRAM | overhead per operator (fitted) |",
            "|---|---|---|---|---|---|"]
    for c in CHIPS.values():
        rows.append(f"| {c.title} | {c.fp16_flops / 1e12:g} TFLOPS | {c.int8_ops / 1e12:g} TOPS | "
                    f"{c.vector_flops / 1e9:.0f} GFLOPS | {c.dram_bytes_s / 1e9:g} GB/s | {c.op_overhead_s * 1e6:.1f} µs |")
    return "\n".join(rows)


def preset_table(presets) -> str:
    """Predicted FP16 (INT8) inference per preset, device family and route, as Markdown."""
    from edgematte.devices import DEVICES
    from edgematte.export.onnx import OnnxExporter
    from edgematte.model.modnet_checkpoint import default_model

    rows = ["| preset | chip (`--device`) | route | layers (launched) | FP16 ms | FP16 fps | INT8 ms |",
            "|---|---|---|---|---|---|---|"]
    for spec in presets:
        proto = OnnxExporter(spec).to_proto(default_model(0).model)
        for chip in CHIPS.values():
            families = [d for d in DEVICES.values() if d.soc_version == chip.soc_version]
            report = device_report(proto, spec, families[0])
            for r in report["routes"]:
                f = r["fp16"]
                rows.append(f"| {spec.name} | {chip.soc_version} ({', '.join(d.name for d in families)}) | "
                            f"{r['route']} | {r['layers']} ({f['launched']}) | {f['infer_ms']:.1f} | {f['fps']:.0f} | "
                            f"{r['int8']['infer_ms']:.1f} |")
    return "\n".join(rows)
