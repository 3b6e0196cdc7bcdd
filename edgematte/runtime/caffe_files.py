"""Readers for Caffe files, written independently of the exporter: a protobuf text-format parser for
prototxt and a protobuf wire-format decoder for caffemodel (BVLC field numbers).

Messages are returned as ``{field: [values...]}`` (every field as a list, as protobuf repeats them).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np


class CaffeFileError(ValueError):
    pass


_TOKEN = re.compile(r'#[^\n]*|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{}:;,\[\]]|[^\s{}:;,\[\]"\'#]+')


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text) if not t.startswith("#")]


def _value(token: str):
    if token[0] in "\"'":
        return bytes(token[1:-1], "utf-8").decode("unicode_escape")
    if token in ("true", "True"):
        return True
    if token in ("false", "False"):
        return False
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return token  # an enum name


def parse_prototxt(text: str) -> dict:
    tokens = _tokens(text)
    pos = 0

    def message(end: str | None) -> dict:
        nonlocal pos
        msg: dict = {}
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == end:
                pos += 1
                return msg
            key = tok
            pos += 1
            if pos < len(tokens) and tokens[pos] == ":":
                pos += 1
            if pos >= len(tokens):
                raise CaffeFileError(f"prototxt ends after {key!r}")
            if tokens[pos] == "{":
                pos += 1
                msg.setdefault(key, []).append(message("}"))
            elif tokens[pos] == "[":
                pos += 1
                while tokens[pos] != "]":
                    if tokens[pos] != ",":
                        msg.setdefault(key, []).append(_value(tokens[pos]))
                    pos += 1
                pos += 1
            else:
                msg.setdefault(key, []).append(_value(tokens[pos]))
                pos += 1
            if pos < len(tokens) and tokens[pos] in (";", ","):
                pos += 1
        if end is not None:
            raise CaffeFileError("prototxt: a '{' is never closed")
        return msg

    return message(None)


# -- wire format ---------------------------------------------------------------------------------------------
def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CaffeFileError("caffemodel: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """Yield (field number, wire type, value) for each field; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise CaffeFileError(f"caffemodel: unsupported wire type {wire}")
        if pos > len(buf):
            raise CaffeFileError("caffemodel: truncated field")
        yield number, wire, value


def _packed_varints(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        v, pos = _read_varint(data, pos)
        out.append(v)
    return out


def _decode_blob(buf: bytes) -> np.ndarray:
    data: list[np.ndarray] = []
    shape: list[int] = []
    legacy = {}
    for number, wire, value in _fields(buf):
        if number == 5:  # data: packed (wire 2) or one float per field (wire 5)
            data.append(np.frombuffer(value, "<f4"))
        elif number == 7:  # BlobShape
            for n, w, v in _fields(value):
                if n == 1:
                    shape += _packed_varints(v) if w == 2 else [v]
        elif number in (1, 2, 3, 4) and wire == 0:  # legacy num/channels/height/width
            legacy[number] = value
    values = np.concatenate(data) if data else np.zeros(0, np.float32)
    if not shape and legacy:
        shape = [legacy.get(i, 1) for i in (1, 2, 3, 4)]
    if int(np.prod(shape)) != values.size:
        raise CaffeFileError(f"caffemodel: blob of shape {shape} holds {values.size} values")
    return values.astype(np.float32).reshape(shape)


def read_caffemodel(path: str | Path) -> dict[str, dict]:
    """``{layer name: {"type": str, "blobs": [arrays]}}`` from a binary caffemodel (``layer`` or V1 ``layers``)."""
    buf = Path(path).read_bytes()
    layers: dict[str, dict] = {}
    for number, wire, value in _fields(buf):
        if number not in (100, 2) or wire != 2:  # NetParameter.layer (100) or V1 layers (2)
            continue
        entry: dict = {"type": "", "blobs": []}
        name = ""
        for n, w, v in _fields(value):
            if n == 1 and w == 2:
                name = v.decode()
            elif n == 2 and w == 2 and number == 100:
                entry["type"] = v.decode()
            elif (n == 7 and number == 100) or (n == 6 and number == 2):
                entry["blobs"].append(_decode_blob(v))
        layers[name] = entry
    return layers


# -- convolution geometry, as Caffe's parameters spell it (kernel_size or kernel_h/kernel_w, ...) --
def _pair(p: dict, key: str, default: int) -> tuple[int, int]:
    if f"{key}_h" in p or f"{key}_w" in p:
        return int(p.get(f"{key}_h", default)), int(p.get(f"{key}_w", default))
    v = p.get("kernel_size", default) if key == "kernel" else p.get(key, default)
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[0])) if len(v) == 1 else (int(v[0]), int(v[1]))
    return int(v), int(v)


def conv_geometry(p: dict) -> dict[str, tuple[int, int]]:
    return {"kernel": _pair(p, "kernel", 1), "stride": _pair(p, "stride", 1), "pad": _pair(p, "pad", 0),
            "dilation": _pair(p, "dilation", 1)}
