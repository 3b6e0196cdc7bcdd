"""Render a :class:`CaffeNet` as a prototxt (text) and a caffemodel (binary protobuf).

The prototxt carries the structure and every layer parameter. The caffemodel carries, per layer, what
Caffe's ``Net::ToProto`` puts next to the weights (name, type, bottoms, tops) and the blobs; parameters
live in the prototxt only, so no field number outside BVLC's core messages is needed (the DeepLab
``interp_param`` number differs between Caffe forks). Field numbers are BVLC caffe.proto's:
NetParameter{name=1, layer=100}, LayerParameter{name=1, type=2, bottom=3, top=4, blobs=7},
BlobProto{data=5 (packed float), shape=7}, BlobShape{dim=1 (packed int64)}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgematte.export.caffe.net import CaffeNet, Enum


# -- prototxt ------------------------------------------------------------------------------------------------
def _scalar(value) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(np.float32(value))  # the shortest text that reads back as the same float32
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {value!r} into a prototxt")


def _message(fields: dict, indent: int) -> list[str]:
    pad = "  " * indent
    lines = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                lines += [f"{pad}{key} {{", *_message(item, indent + 1), f"{pad}}}"]
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    return lines


def render_prototxt(net: CaffeNet, header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    lines.append(f'name: "{net.name}"')
    for name, shape in net.inputs.items():
        lines += [f'input: "{name}"', "input_shape {", *(f"  dim: {d}" for d in shape), "}"]
    for layer in net.layers:
        body: dict = {"name": layer.name, "type": layer.type, "bottom": layer.bottoms, "top": layer.tops}
        lines += ["layer {", *_message({**body, **layer.params}, 1), "}"]
    return "\n".join(lines) + "\n"


# -- caffemodel (protobuf wire format) -------------------------------------------------------------------------
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _blob(array: np.ndarray) -> bytes:
    shape = _field(1, b"".join(_varint(int(d)) for d in array.shape))
    data = np.ascontiguousarray(array, "<f4").tobytes()
    return _field(7, shape) + _field(5, data)


def encode_caffemodel(net: CaffeNet) -> bytes:
    out = bytearray(_field(1, net.name.encode()))
    for layer in net.layers:
        body = bytearray(_field(1, layer.name.encode()) + _field(2, layer.type.encode()))
        for bottom in layer.bottoms:
            body += _field(3, bottom.encode())
        for top in layer.tops:
            body += _field(4, top.encode())
        for blob in layer.blobs:
            body += _field(7, _blob(blob))
        out += _field(100, bytes(body))
    return bytes(out)


def write_caffe(net: CaffeNet, prototxt: str | Path, caffemodel: str | Path, header: str = "") -> None:
    Path(prototxt).write_text(render_prototxt(net, header))
    Path(caffemodel).write_bytes(encode_caffemodel(net))


