"""What ``edgematte bench`` prints: the report (schema in bench/schema.py) as a few lines."""

from __future__ import annotations

from edgematte.quantize.mixed_precision import plan_summary


def summary_lines(r: dict) -> list[str]:
    m, mach = r["model"], r["machine"]
    lines = [f"{mach['cpu']}, {mach['cores']} cores, {mach['threads']} threads | {m['preset']} "
             f"{m['width']}x{m['height']}, {m['parameters'] / 1e6:.2f} M params, {m['macs'] / 1e9:.2f} GMACs"
             f"{'' if m['trained'] else ' (untrained weights: accuracy columns describe noise)'}",
             f"{'model':<18}{'p50 ms':>9}{'p90':>9}{'p99':>9}{'GFLOP/s':>9}  alpha vs FP32 (clip mean / max)"]
    for v in r["variants"]:
        s = v["infer_ms"]
        acc = v.get("alpha_vs_fp32", {}).get("clip")
        acc_text = f"{acc['mean_abs']:.4f} / {acc['max_abs']:.4f}" if acc else "-"
        lines.append(f"{v['name']:<18}{s['p50']:>9.1f}{s['p90']:>9.1f}{s['p99']:>9.1f}{v['gflops_per_s']:>9.1f}  "
                     f"{acc_text}")
    plan = next((v["mixed_precision"] for v in r["variants"] if "mixed_precision" in v), None)
    if plan:
        lines.append(plan_summary(plan))
    floor = r["camera_rounding_floor"]["clip"]
    lines.append(f"{'(yardstick)':<18}{'camera rounding of the input (±0.5 level) moves FP32 by':>45}  "
                 f"{floor['mean_abs']:.4f} / {floor['max_abs']:.4f}")
    ratios = r["ratios"]
    lines.append(f"original-style / edgematte: FP32 {ratios['original_over_edgematte_fp32']:.2f}x, "
                 f"INT8 {ratios['original_over_edgematte_int8']:.2f}x")
    lines.append(f"Ascend 310 lower bound (FP16 peak, not a measurement): {r['device_bound']['min_infer_ms']:.2f} ms")
    if "device_model" in r:
        from edgematte.bench.device import device_lines

        lines += device_lines(r["device_model"])
    if "fp16_simulation" in r:
        e = r["fp16_simulation"]["portrait"]
        lines.append(f"FP16 arithmetic (simulated) vs FP32 on the portrait: mean abs {e['mean_abs']:.4f}, "
                     f"max abs {e['max_abs']:.4f}")
    loop = r["loop"]
    lines.append(f"skill loop on {loop['input']['width']}x{loop['input']['height']} ({r['settings']['runtime']}): "
                 + ", ".join(f"{k} {v['p50']:.1f}" for k, v in loop["stages"].items())
                 + f" | total p50 {loop['total']['p50']:.1f} ms ({loop['total']['fps']:.1f} fps), "
                   f"non-inference {100 * loop['non_infer_fraction']:.1f}% "
                   f"({100 * loop['non_infer_fraction_without_aipp']:.1f}% without the emulated AIPP)")
    from edgematte.bench.host import host_lines

    lines += host_lines(r["host_cpu"])
    if "refiner" in r:
        f = r["refiner"]
        bound = f["device_bound"]
        lines.append(f"refiner {f['network']} x{f['width']:g} at {f['size'][0]}x{f['size'][1]} ({f['macs'] / 1e9:.2f} GMACs): "
                     f"p50 {f['infer_ms']['p50']:.1f} ms on this CPU, run on {100 * f['runs_per_frame']:.0f}% of the "
                     f"loop's frames = {f['cpu_ms_per_frame']:.1f} ms per frame; Ascend 310 lower bound "
                     f"{bound['min_infer_ms']:.2f} ms a run ({bound['over_modnet']:.1f}x MODNet's), "
                     f"{bound['min_ms_per_frame']:.2f} ms per frame")
    return lines
