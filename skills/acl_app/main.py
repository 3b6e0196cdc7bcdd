# -*- coding: utf-8 -*-
"""Real-time portrait matting on an Ascend 310 / 310B / 310P board with AscendCL (TITLE and SOC_VERSION below):
camera, video file or RTSP stream -> matte -> composite -> window, video file or browser preview.

The model is MODNet with the previous frame's alpha as a second input: each frame's alpha is fed back into
the next inference, which keeps the matte stable over time; it is dropped at a scene cut and when the person
has left (PreviousAlpha, in the loop core below). With a refiner (REFINER_FILE), SHM's M-Net refines the
matte in the REF_W x REF_H crop of the frame with the most uncertain band, at the frame's resolution; it runs
again when that band changes or the crop moves, and at least once a second, its last result reused in between.

    python3 main.py --input 0 --preview 8080          # USB camera 0 at 1280x720; open http://<board-ip>:8080/
    python3 main.py --input clip.mp4 --output out.mp4 --mode side-by-side
    python3 main.py --input rtsp://camera/stream --background "#00ff00" --show

Runs on the board's Python (PYTHON below) with pyACL (`acl`, installed with CANN), numpy, cv2 and the
standard library only; the same file runs on a laptop against edgematte's `acl` stand-in (edgematte run). It
expects MODEL_FILE (made by convert.sh) in the folder above this one. Ctrl-C stops it cleanly: the output file is
closed (and playable) and every AscendCL resource is released.
"""

import argparse
import json
import os
import queue
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

import cv2
import numpy as np

import acl

# -- settings: edgematte writes the values of this block for each bundle --
GENERATED_BY = "edgematte (template)"  # the edgematte and preset that rendered this file
TITLE = "Atlas 200I DK A2, Orange Pi AIpro 8T"  # the boards of the family the bundle is for
SOC_VERSION = "Ascend310B4"           # the chip convert.sh compiled for
PYTHON = "3.9"                        # the Python of the board's image
MODEL_FILE = "modnet4.om"             # convert.sh writes it into the bundle folder
NET_W, NET_H = 512, 288               # the model's input size
FEEDBACK = True                       # feed the model its previous alpha (False: zeros; a model trained on zeros)
REFINER_FILE = None                   # the refiner's .om (M-Net), or None
REF_W, REF_H = 0, 0                   # its input: a crop of the frame, BGR888 + trimap bytes
JPEGD_WIDTH_ALIGN = 64                # JPEGD's output width stride on this chip: the width rounded up to this
MODES = ("composite", "alpha", "side-by-side")
DEFAULTS = {"background": "blur", "mode": "composite", "reset_threshold": 30.0, "min_coverage": 0.02,
            "log_every": 100}
# -- end of settings --

# -- the loop core: edgematte's loop.py, pictures.py and refine.py, copied in when rendered --
from edgematte.loop import *  # noqa: E402,F401,F403
from edgematte.pictures import *  # noqa: E402,F401,F403
from edgematte.refine import *  # noqa: E402,F401,F403
# -- end of the loop core --

IMAGE_BYTES = NET_W * NET_H * 3 // 2  # input 0: NV21, written there by DVPP's VPC; AIPP makes it RGB on the chip
ALPHA_BYTES = NET_W * NET_H * 4       # input 1 (the previous alpha) and the output: float32
STAGES = ("read", "convert", "vpc", "feedback", "infer", "refine", "composite", "show", "preview")

# pyACL constants (CANN AscendCL API reference: aclrtMallocPolicy, aclrtMemcpyKind, aclrtRunMode, aclError)
ACL_SUCCESS = 0
ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_HOST, ACL_MEMCPY_HOST_TO_DEVICE, ACL_MEMCPY_DEVICE_TO_HOST, ACL_MEMCPY_DEVICE_TO_DEVICE = 0, 1, 2, 3
ACL_HOST = 1  # acl.rt.get_run_mode(): the app runs on a host CPU beside the NPU (0, ACL_DEVICE: on the board's own CPU)
# DVPP (acldvpp, pyACL's acl.media): NV21 pictures with a width stride rounded up to 16 and a height stride rounded up
# to 2 in acl.media.dvpp_malloc memory suit VPC and JPEGE on the 310, 310B and 310P alike (the CANN DVPP chapters)
PIXEL_FORMAT_YVU_SEMIPLANAR_420 = 2   # acldvppPixelFormat: NV21
VPC_BILINEAR = 1                      # acldvppSetResizeConfigInterpolation: bilinear, computed as OpenCV does
WIDTH_STRIDE, HEIGHT_STRIDE = 16, 2
JPEG_LEVEL = 80                       # the preview's JPEG quality (acldvppSetJpegeConfigLevel)
JPEGD_HEIGHT_ALIGN = 16               # JPEGD's output height stride: the height rounded up to 16 (every chip)
MJPG = cv2.VideoWriter_fourcc(*"MJPG")  # what a UVC camera sends 720p and 1080p at full rate in
# acl.rt.query_event_status's aclrtEventRecordedStatus (pyACL reference, CANN 8.0 aclpythondevg_01_0096): COMPLETE is
# 1 here (the older acl.rt.query_event's aclrtEventStatus used 0)
ACL_EVENT_RECORDED_STATUS_COMPLETE = 1
UNDECODABLE_MAX = 25  # camera frames in a row JPEGD cannot decode before the app stops (a USB glitch truncates one)
POLL_S = 0.0005    # between two queries of an event: Python's lock is free for the other threads meanwhile
STALL_S = 2.0      # no completion after this long: wait with acl.rt.synchronize_stream, which reports a failed task


class AppError(Exception):
    """Stops the app with one message and exit status 2."""


class AclError(RuntimeError):
    """A pyACL call returned an error code; the message names the call."""


def check(ret, call):
    if ret != ACL_SUCCESS:
        raise AclError("%s failed with error code %s" % (call, ret))


# acl.util.bytes_to_ptr / ptr_to_bytes: in the pyACL reference from CANN 6.0.1 on (hiascend.com canncommercial/601,
# aclpythondevg_01_0051 and _0052); earlier releases documented numpy_to_ptr / ptr_to_numpy, deprecated since.
PYACL_CALLS = ("acl.util.bytes_to_ptr", "acl.util.ptr_to_bytes")
PYACL_FLOOR = "6.0.1"


class AclRuntime(object):
    """AscendCL on one NPU: init, device, context, run mode, and the models loaded on them. Every resource is
    recorded as it is acquired and released in reverse order by release()."""

    def __init__(self, device_id):
        self._held = []  # (name of the releasing call, function, arguments), in acquisition order
        try:
            self._acquire(device_id)
        except BaseException:  # a failed call or Ctrl-C half-way: give back what was acquired
            self.release()
            raise

    def _acquire(self, device_id):
        missing = [name for name in PYACL_CALLS if not hasattr(acl.util, name.split(".")[-1])]
        if missing:  # a CANN older than the app: say so before anything is acquired
            raise AppError("this board's pyACL has no %s, which this app uses (documented from CANN %s): upgrade "
                           "the board's CANN to %s or later" % (", ".join(missing), PYACL_FLOOR, PYACL_FLOOR))
        check(acl.init(), "acl.init")
        self.hold("acl.finalize", acl.finalize)
        soc = acl.get_soc_name()  # aclrtGetSocName: the chip this process runs on
        if soc and soc != SOC_VERSION:
            raise AppError("this bundle was built for %s, but the NPU here is %s: export the bundle again with "
                           "edgematte export --to om --device <this board's family>" % (SOC_VERSION, soc))
        check(acl.rt.set_device(device_id), "acl.rt.set_device(%d)" % device_id)
        self.hold("acl.rt.reset_device", acl.rt.reset_device, device_id)
        context, ret = acl.rt.create_context(device_id)
        check(ret, "acl.rt.create_context")
        self.hold("acl.rt.destroy_context", acl.rt.destroy_context, context)
        self.context = context  # another thread calls acl.rt.set_context(context) before its first AscendCL call
        run_mode, ret = acl.rt.get_run_mode()
        check(ret, "acl.rt.get_run_mode")
        on_host = run_mode == ACL_HOST
        self.to_device = ACL_MEMCPY_HOST_TO_DEVICE if on_host else ACL_MEMCPY_DEVICE_TO_DEVICE
        self.to_host = ACL_MEMCPY_DEVICE_TO_HOST if on_host else ACL_MEMCPY_DEVICE_TO_DEVICE

    def hold(self, name, function, *args):
        self._held.append((name, function, args))

    def stream(self):
        """A new stream and its waiter (StreamWait), released with the runtime."""
        stream, ret = acl.rt.create_stream()
        check(ret, "acl.rt.create_stream")
        self.hold("acl.rt.destroy_stream", acl.rt.destroy_stream, stream)
        return StreamWait(self, stream)

    def dvpp_malloc(self, size):
        pointer, ret = acl.media.dvpp_malloc(size)
        check(ret, "acl.media.dvpp_malloc(%d)" % size)
        self.hold("acl.media.dvpp_free", acl.media.dvpp_free, pointer)
        return pointer

    def malloc_host(self, size):
        pointer, ret = acl.rt.malloc_host(size)
        check(ret, "acl.rt.malloc_host(%d)" % size)
        self.hold("acl.rt.free_host", acl.rt.free_host, pointer)
        return pointer

    def created(self, create, destroy, *args):
        """A DVPP object from ``create`` (0 on failure), destroyed with the runtime."""
        handle = create(*args)
        if not handle:
            raise AclError("%s returned nothing" % create.__name__)
        self.hold(destroy.__name__, destroy, handle)
        return handle

    def load(self, path, input_bytes, output_bytes, dvpp_input=False):
        """The .om at ``path``, checked to take inputs of ``input_bytes`` and give outputs of ``output_bytes``;
        released with the runtime."""
        return AclNet(self, path, input_bytes, output_bytes, dvpp_input)

    def release(self):
        """Release everything in reverse order, going on past a failure; returns the calls that failed."""
        failed = []
        while self._held:
            name, function, args = self._held.pop()
            ret = function(*args)
            if ret not in (None, ACL_SUCCESS):
                failed.append("%s returned %s" % (name, ret))
        return failed


class AclNet(object):
    """One loaded model with its input and output datasets of device buffers."""

    def __init__(self, runtime, path, input_bytes, output_bytes, dvpp_input=False):
        """``dvpp_input``: input 0 lives in DVPP memory (DVPP's VPC writes it; run() is then given None for it)."""
        self.runtime, self.output_bytes = runtime, output_bytes
        self.wait = runtime.stream()  # the model runs on its own stream, from the NPU stage's thread
        self.model_id, ret = acl.mdl.load_from_file(path)
        check(ret, "acl.mdl.load_from_file(%s)" % path)
        runtime.hold("acl.mdl.unload", acl.mdl.unload, self.model_id)
        desc = acl.mdl.create_desc()
        if not desc:
            raise AclError("acl.mdl.create_desc returned no description")
        runtime.hold("acl.mdl.destroy_desc", acl.mdl.destroy_desc, desc)
        check(acl.mdl.get_desc(desc, self.model_id), "acl.mdl.get_desc")
        inputs = [acl.mdl.get_input_size_by_index(desc, i) for i in range(acl.mdl.get_num_inputs(desc))]
        outputs = [acl.mdl.get_output_size_by_index(desc, i) for i in range(acl.mdl.get_num_outputs(desc))]
        if inputs != list(input_bytes) or outputs != [output_bytes]:
            raise AppError("%s does not match this app (inputs of %s bytes, outputs of %s; expected %s and %s): run "
                           "this bundle's convert.sh again, or use the app of the bundle the model came from"
                           % (path, inputs, outputs, list(input_bytes), [output_bytes]))
        self.inputs, self.input_ptrs = self._dataset(input_bytes, dvpp_input)
        self.outputs, self.output_ptrs = self._dataset((output_bytes,))
        self.host_out = runtime.malloc_host(output_bytes)

    def _dataset(self, sizes, dvpp_first=False):
        dataset = acl.mdl.create_dataset()
        if not dataset:
            raise AclError("acl.mdl.create_dataset returned no dataset")
        self.runtime.hold("acl.mdl.destroy_dataset", acl.mdl.destroy_dataset, dataset)
        pointers = []
        for i, size in enumerate(sizes):
            if i == 0 and dvpp_first:
                pointer = self.runtime.dvpp_malloc(size)
            else:
                pointer, ret = acl.rt.malloc(size, ACL_MEM_MALLOC_HUGE_FIRST)
                check(ret, "acl.rt.malloc(%d)" % size)
                self.runtime.hold("acl.rt.free", acl.rt.free, pointer)
            data_buffer = acl.create_data_buffer(pointer, size)
            if not data_buffer:
                raise AclError("acl.create_data_buffer returned no buffer")
            self.runtime.hold("acl.destroy_data_buffer", acl.destroy_data_buffer, data_buffer)
            _, ret = acl.mdl.add_dataset_buffer(dataset, data_buffer)
            check(ret, "acl.mdl.add_dataset_buffer")
            pointers.append(pointer)
        return dataset, pointers

    def run(self, *arrays):
        """The inputs (numpy arrays, in order; None for one already on the device) -> the output as float32, flat."""
        raws = [None if a is None else np.ascontiguousarray(a).tobytes() for a in arrays]
        for pointer, raw in zip(self.input_ptrs, raws):
            if raw is None:
                continue
            # the bytes object stays alive (raws) while its pointer is in use
            check(acl.rt.memcpy(pointer, len(raw), acl.util.bytes_to_ptr(raw), len(raw), self.runtime.to_device),
                  "acl.rt.memcpy (input to the device)")
        check(acl.mdl.execute_async(self.model_id, self.inputs, self.outputs, self.wait.stream), "acl.mdl.execute_async")
        self.wait("the model")
        check(acl.rt.memcpy(self.host_out, self.output_bytes, self.output_ptrs[0], self.output_bytes,
                            self.runtime.to_host), "acl.rt.memcpy (output to the host)")
        return np.frombuffer(acl.util.ptr_to_bytes(self.host_out, self.output_bytes), np.float32)


class StreamWait(object):
    """Waits for the work queued on ``stream`` without holding Python's lock: an event recorded after the work is
    polled with acl.rt.query_event_status between short sleeps, so the app's other threads run meanwhile whether
    or not pyACL releases the lock inside a blocking call (the HiLens Framework's SWIG wrapper, for one, holds it
    through a whole inference). A pyACL without query_event_status (in its reference from CANN 8.0.RC1) waits with
    acl.rt.synchronize_stream."""

    def __init__(self, runtime, stream):
        self.stream, self.event = stream, None
        if hasattr(acl.rt, "query_event_status"):
            self.event, ret = acl.rt.create_event()
            check(ret, "acl.rt.create_event")
            runtime.hold("acl.rt.destroy_event", acl.rt.destroy_event, self.event)

    def __call__(self, what):
        if self.event is not None:
            check(acl.rt.record_event(self.event, self.stream), "acl.rt.record_event (%s)" % what)
            stall = time.time() + STALL_S
            while time.time() < stall:
                status, ret = acl.rt.query_event_status(self.event)
                check(ret, "acl.rt.query_event_status (%s)" % what)
                if status == ACL_EVENT_RECORDED_STATUS_COMPLETE:
                    return
                time.sleep(POLL_S)
        # no events, or no completion yet (a failed task leaves its event not ready): the stream's own answer
        check(acl.rt.synchronize_stream(self.stream), "acl.rt.synchronize_stream (%s)" % what)


def aligned(value, step):
    return (value + step - 1) // step * step


class DvppPicture(object):
    """An NV21 picture in DVPP memory (``pointer``, or a new buffer) and its description for VPC and JPEGE."""

    def __init__(self, runtime, width, height, pointer=None, strides=(WIDTH_STRIDE, HEIGHT_STRIDE)):
        self.runtime, self.width, self.height = runtime, width, height
        self.stride_w, self.stride_h = aligned(width, strides[0]), aligned(height, strides[1])
        self.size = self.stride_w * self.stride_h * 3 // 2
        self.pointer = runtime.dvpp_malloc(self.size) if pointer is None else pointer
        self.desc = runtime.created(acl.media.dvpp_create_pic_desc, acl.media.dvpp_destroy_pic_desc)
        for name, value in (("data", self.pointer), ("size", self.size), ("format", PIXEL_FORMAT_YVU_SEMIPLANAR_420),
                            ("width", width), ("height", height), ("width_stride", self.stride_w),
                            ("height_stride", self.stride_h)):
            check(getattr(acl.media, "dvpp_set_pic_desc_" + name)(self.desc, value), "acl.media.dvpp_set_pic_desc_" + name)

    def upload(self, nv21):
        """Copy an NV21 picture of this size from the host (padded to the strides where they exceed it)."""
        if (self.stride_w, self.stride_h) != (self.width, self.height):
            padded = np.zeros((self.stride_h * 3 // 2, self.stride_w), np.uint8)
            padded[:self.height, :self.width] = nv21[:self.height]
            padded[self.stride_h:self.stride_h + self.height // 2, :self.width] = nv21[self.height:]
            nv21 = padded
        raw = np.ascontiguousarray(nv21).tobytes()
        check(acl.rt.memcpy(self.pointer, self.size, acl.util.bytes_to_ptr(raw), len(raw), self.runtime.to_device),
              "acl.rt.memcpy (a picture to DVPP)")


class Dvpp(object):
    """A DVPP channel and a stream: VPC resizes and JPEGE encodes, each waited for. One per thread that uses it."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.channel = runtime.created(acl.media.dvpp_create_channel_desc, acl.media.dvpp_destroy_channel_desc)
        check(acl.media.dvpp_create_channel(self.channel), "acl.media.dvpp_create_channel")
        runtime.hold("acl.media.dvpp_destroy_channel", acl.media.dvpp_destroy_channel, self.channel)
        self.wait = runtime.stream()
        self.stream = self.wait.stream

    def resize(self, source, target, config):
        """VPC: ``source`` scaled onto ``target`` (DvppPictures)."""
        check(acl.media.dvpp_vpc_resize_async(self.channel, source.desc, target.desc, config, self.stream),
              "acl.media.dvpp_vpc_resize_async")
        self.wait("VPC")


class NetworkInput(object):
    """The camera's NV21 frame -> the network's input 0, scaled by DVPP's VPC straight into the model's input
    buffer; the scaled Y plane comes back to the host for the scene-cut rule (NET_W x NET_H bytes)."""

    def __init__(self, runtime, net, width, height):
        self.runtime, self.dvpp = runtime, Dvpp(runtime)
        self.frame = DvppPicture(runtime, width, height)
        self.target = DvppPicture(runtime, NET_W, NET_H, pointer=net.input_ptrs[0])
        if self.target.size != IMAGE_BYTES:
            raise AppError("the network size %dx%d does not fit DVPP's strides" % (NET_W, NET_H))
        self.config = runtime.created(acl.media.dvpp_create_resize_config, acl.media.dvpp_destroy_resize_config)
        check(acl.media.dvpp_set_resize_config_interpolation(self.config, VPC_BILINEAR),
              "acl.media.dvpp_set_resize_config_interpolation")
        self.luma = runtime.malloc_host(NET_W * NET_H)

    def __call__(self, nv21):
        """Put ``nv21`` on the network's input 0; returns its luma at the network size (for the cut rule)."""
        self.frame.upload(nv21)
        self.dvpp.resize(self.frame, self.target, self.config)
        size = NET_W * NET_H
        check(acl.rt.memcpy(self.luma, size, self.target.pointer, size, self.runtime.to_host),
              "acl.rt.memcpy (the luma to the host)")
        return np.frombuffer(acl.util.ptr_to_bytes(self.luma, size), np.uint8).reshape(NET_H, NET_W)


class JpegEncoder(object):
    """DVPP's JPEG encoder for NV21 pictures of one size (the preview's): the picture goes to DVPP memory, the
    JPEG comes back. Used from the output thread, which sets the runtime's context first."""

    def __init__(self, runtime, width, height):
        self.runtime, self.dvpp = runtime, Dvpp(runtime)
        self.picture = DvppPicture(runtime, width, height)
        self.config = runtime.created(acl.media.dvpp_create_jpege_config, acl.media.dvpp_destroy_jpege_config)
        check(acl.media.dvpp_set_jpege_config_level(self.config, JPEG_LEVEL), "acl.media.dvpp_set_jpege_config_level")
        self.capacity, ret = acl.media.dvpp_jpeg_predict_enc_size(self.picture.desc, self.config)
        check(ret, "acl.media.dvpp_jpeg_predict_enc_size")
        self.out = runtime.dvpp_malloc(self.capacity)
        self.host = runtime.malloc_host(self.capacity)
        self.size = runtime.malloc_host(4)  # a uint32: the buffer's size in, the JPEG's size out

    def __call__(self, nv21):
        """The JPEG of ``nv21`` (bytes)."""
        self.picture.upload(nv21)
        capacity = np.array([self.capacity], np.uint32).tobytes()
        check(acl.rt.memcpy(self.size, 4, acl.util.bytes_to_ptr(capacity), 4, ACL_MEMCPY_HOST_TO_HOST),
              "acl.rt.memcpy (the JPEG buffer's size)")
        check(acl.media.dvpp_jpeg_encode_async(self.dvpp.channel, self.picture.desc, self.out, self.size, self.config,
                                               self.dvpp.stream), "acl.media.dvpp_jpeg_encode_async")
        self.dvpp.wait("JPEGE")
        size = int(np.frombuffer(acl.util.ptr_to_bytes(self.size, 4), np.uint32)[0])
        check(acl.rt.memcpy(self.host, self.capacity, self.out, size, self.runtime.to_host),
              "acl.rt.memcpy (the JPEG to the host)")
        return acl.util.ptr_to_bytes(self.host, size)


class JpegDecoder(object):
    """DVPP's JPEG decoder for a camera's MJPEG frames of one size: the frame's bytes go to DVPP memory (with the
    standard Huffman tables where the camera left them out), JPEGD decodes them to NV21, and the picture comes
    back to the host in the app's range. JPEGD gives the JPEG's own YCbCr samples, which JFIF defines full range
    (CANN documents no range conversion in JPEGD, and ATC's AIPP tables carry a separate full-range "JPEG"
    matrix); the app's pictures are BT.601 narrow range, as OpenCV's conversions and this bundle's AIPP are, so
    two 256-entry tables map it. Used from the capture thread, which sets the runtime's context first."""

    def __init__(self, runtime, width, height):
        self.runtime, self.dvpp, self.width, self.height = runtime, Dvpp(runtime), width, height
        self.picture = DvppPicture(runtime, width, height, strides=(JPEGD_WIDTH_ALIGN, JPEGD_HEIGHT_ALIGN))
        self.capacity = width * height * 3  # beyond any 8-bit baseline JPEG of the frame's size
        self.data = runtime.dvpp_malloc(self.capacity)
        self.host = runtime.malloc_host(self.picture.size)
        self.tables, self.levels = standard_huffman_tables(), narrow_range_levels()

    def __call__(self, frame):
        """The NV21 picture of one MJPEG frame (OpenCV's raw frame: a row of the JPEG's bytes)."""
        jpeg = with_huffman_tables(frame.tobytes(), self.tables)
        if len(jpeg) > self.capacity:
            raise AppError("a camera frame of %d bytes is larger than a %dx%d JPEG can be" % (len(jpeg), self.width,
                                                                                             self.height))
        check(acl.rt.memcpy(self.data, self.capacity, acl.util.bytes_to_ptr(jpeg), len(jpeg), self.runtime.to_device),
              "acl.rt.memcpy (a JPEG to DVPP)")
        check(acl.media.dvpp_jpeg_decode_async(self.dvpp.channel, self.data, len(jpeg), self.picture.desc,
                                               self.dvpp.stream), "acl.media.dvpp_jpeg_decode_async")
        self.dvpp.wait("JPEGD")
        size = (acl.media.dvpp_get_pic_desc_width(self.picture.desc),
                acl.media.dvpp_get_pic_desc_height(self.picture.desc))
        if size != (self.width, self.height):
            raise AppError("the camera's frames changed from %dx%d to %dx%d" % ((self.width, self.height) + size))
        p = self.picture
        check(acl.rt.memcpy(self.host, p.size, p.pointer, p.size, self.runtime.to_host),
              "acl.rt.memcpy (a decoded frame to the host)")
        padded = np.frombuffer(acl.util.ptr_to_bytes(self.host, p.size), np.uint8)
        return narrow_nv21(padded.reshape(p.stride_h * 3 // 2, p.stride_w), p.width, p.height, self.levels)


def narrow_range_levels():
    """Two 256-entry tables from full-range YCbCr (JPEG's) to BT.601's narrow range: luma 0-255 -> 16-235,
    chroma 0-255 -> 16-240 about 128."""
    levels = np.arange(256, dtype=np.float32)
    return (np.round(16 + levels * (219 / 255.0)).astype(np.uint8),
            np.round(128 + (levels - 128) * (224 / 255.0)).astype(np.uint8))


def narrow_nv21(padded, width, height, levels):
    """The ``width`` x ``height`` NV21 picture inside ``padded`` (its strides' rows and columns), in the narrow
    range: each output pixel written once."""
    stride_h = padded.shape[0] * 2 // 3
    out = np.empty((height * 3 // 2, width), np.uint8)
    cv2.LUT(padded[:height, :width], levels[0], dst=out[:height])
    cv2.LUT(padded[stride_h:stride_h + height // 2, :width], levels[1], dst=out[height:])
    return out


def jpeg_segments(data):
    """(marker, start, end) of each marker segment of a JPEG's header, up to its scan (SOS, not included)."""
    segments, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte
            i += 1
            continue
        if marker == 0xDA:
            return segments
        end = i + 2 + (data[i + 2] << 8 | data[i + 3])
        segments.append((marker, i, end))
        i = end
    raise AppError("the camera sent a frame that is not a JPEG (no scan in its first %d bytes)" % i)


def jpeg_size(data):
    """(width, height) from a JPEG's frame header (SOF0-SOF15, not DHT, JPG or DAC)."""
    for marker, start, _ in jpeg_segments(data):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (data[start + 7] << 8 | data[start + 8], data[start + 5] << 8 | data[start + 6])
    raise AppError("the camera sent a JPEG without a frame header")


def standard_huffman_tables():
    """DHT segments of ITU T.81 Annex K.3's tables: those libjpeg writes when it does not optimise them, cut from
    OpenCV's JPEG of a small picture."""
    ok, jpeg = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    data = jpeg.tobytes()
    return b"".join(data[start:end] for marker, start, end in jpeg_segments(data) if marker == 0xC4)


def with_huffman_tables(data, tables):
    """A JPEG's bytes with ``tables`` inserted before its scan when it has no Huffman tables: a UVC camera may leave
    them out (its MJPEG frames then mean Annex K's tables, which decoders such as libjpeg assume)."""
    segments = jpeg_segments(data)
    if any(marker == 0xC4 for marker, _, _ in segments):
        return data
    scan = segments[-1][2] if segments else 2
    return data[:scan] + tables + data[scan:]


def nv21_crop(frame, x, y, w, h):
    """The NV21 crop (x, y, w, h: even) of an NV21 frame."""
    height = frame.shape[0] * 2 // 3
    return np.concatenate([frame[y:y + h, x:x + w], frame[height + y // 2:height + (y + h) // 2, x:x + w]])


def nv21_resize(picture, width, height):
    h, w = picture.shape[0] * 2 // 3, picture.shape[1]
    y, vu = planes(picture, w, h)
    return np.concatenate([cv2.resize(y, (width, height), interpolation=cv2.INTER_AREA),
                           cv2.resize(vu, (width // 2, height // 2), interpolation=cv2.INTER_AREA).reshape(height // 2, width)])


def run_refiner(net, frame, box, codes):
    """M-Net on the NV21 crop ``box`` of ``frame`` and its trimap codes -> the refined alpha at the crop's size."""
    x, y, w, h = box
    crop = nv21_crop(frame, x, y, w, h)
    if (w, h) != (REF_W, REF_H):  # a frame smaller than the refiner's crop
        crop = nv21_resize(crop, REF_W, REF_H)
        codes = cv2.resize(codes, (REF_W, REF_H), interpolation=cv2.INTER_NEAREST)
    refined = net.run(crop, codes).reshape(REF_H, REF_W)
    return cv2.resize(refined, (w, h), interpolation=cv2.INTER_LINEAR)


class RefinerStage(object):
    """M-Net on the most uncertain crop of each frame's matte (the refiner schedule of the loop core)."""

    def __init__(self, net, width, height):
        self.net, self.width, self.height = net, width, height
        self.refiner = Refiner(min(REF_W, width), min(REF_H, height), frame_band(width, NET_W), even=True)

    def __call__(self, frame, alpha):
        """The frame-sized alpha, refined in the crop M-Net ran on (or its last result reused)."""
        alpha = cv2.resize(alpha, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        self.refiner(alpha, lambda box, codes: run_refiner(self.net, frame, box, codes))
        return alpha


# -- frames in ------------------------------------------------------------------------------------------
def open_source(text, timeout_ms, camera_size, camera_decode):
    """A camera index, an RTSP/HTTP URL or a video file, opened with OpenCV; and whether its frames come as JPEGs
    for DVPP's decoder (a camera that sends MJPEG, with ``camera_decode`` "dvpp"), else as BGR pictures."""
    jpeg = False
    if text.isdigit():
        try:
            cap = cv2.VideoCapture(int(text))
        except (cv2.error, OverflowError):  # an index beyond a C int
            raise AppError("no camera at index %s (`ls /dev/video*` lists them)" % text)
        what = "camera %s" % text
        if cap.isOpened():  # OpenCV's V4L2 backend prefers YUYV, which USB 2 carries at 720p at a few fps only
            cap.set(cv2.CAP_PROP_FOURCC, MJPG)
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, camera_size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, camera_size[1])
            # with CONVERT_RGB off, OpenCV hands over each MJPEG frame's bytes undecoded (cap_v4l.cpp)
            jpeg = (int(cap.get(cv2.CAP_PROP_FOURCC)) == MJPG and camera_decode == "dvpp"
                    and cap.set(cv2.CAP_PROP_CONVERT_RGB, 0))
    elif "://" in text:
        params = [getattr(cv2, "CAP_PROP_OPEN_TIMEOUT_MSEC", None), timeout_ms]
        cap = cv2.VideoCapture(text, cv2.CAP_FFMPEG, params) if params[0] is not None else cv2.VideoCapture(text)
        what = "stream %s" % text
    else:
        if not os.path.exists(text):
            raise AppError("input %s does not exist; give a camera index, an rtsp:// URL or a video file" % text)
        cap = cv2.VideoCapture(text)
        what = "video %s" % text
    if not cap.isOpened():
        cap.release()
        if text.isdigit():
            raise AppError("no camera at index %s (is it plugged in? `ls /dev/video*` lists them)" % text)
        if "://" in text:
            raise AppError("%s did not answer within %.0f s; check the URL and the network" % (what, timeout_ms / 1000.0))
        raise AppError("cannot decode %s; give a video OpenCV can read" % what)
    return cap, what, jpeg


# -- composite (NV21, as the frames are from the capture on: edgematte's pictures.py above) -------------------
def parse_background(text, width, height):
    """None for blur, else an NV21 picture at the frame size: a colour (#rrggbb, green) or an image file."""
    if text == "blur":
        return None
    if text == "green":
        text = "#00ff00"
    if text.startswith("#") and len(text) == 7:
        try:
            r, g, b = [int(text[i:i + 2], 16) for i in (1, 3, 5)]
        except ValueError:
            raise AppError("background %s is not a colour #rrggbb" % text)
        picture = np.empty((height, width, 3), np.uint8)
        picture[:] = (b, g, r)
        return bgr_to_nv21(picture)
    image = cv2.imread(text, cv2.IMREAD_COLOR)
    if image is None:
        raise AppError("background %s is not an image OpenCV can read; give a .png/.jpg, #rrggbb, green or blur" % text)
    return bgr_to_nv21(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))


def composite(frame, alpha, background, mode):
    """The NV21 picture for ``mode``: the matte as grey, frame over background, or frame | composite; all 8-bit,
    each output pixel written once (the alpha's levels resized to the frame, the blend in OpenCV's SIMD kernels)."""
    height, width = frame.shape[0] * 2 // 3, frame.shape[1]
    if mode == "alpha":
        return alpha_nv21(alpha, width, height)
    behind = blurred_nv21(frame, width, height) if background is None else background
    if mode == "side-by-side":  # two NV21 pictures side by side are one NV21 picture
        out = np.empty((height * 3 // 2, 2 * width), np.uint8)
        out[:, :width] = frame
        blend_nv21(frame, behind, alpha, width, height, out[:, width:])
        return out
    return blend_nv21(frame, behind, alpha, width, height, np.empty_like(frame))


# -- the browser preview: MJPEG over HTTP (standard library + cv2) -----------------------------------------
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>edgematte preview</title>
<style>body{font-family:sans-serif;background:#111;color:#eee;margin:1em}img{max-width:100%%}
td{padding:0 1em 0 0}</style></head><body><h3>edgematte: %(title)s, %(w)dx%(h)d model</h3>
<img src="/stream.mjpg" alt="the composite"><table id="t"></table>
<script>function tick(){fetch('/stats.json').then(r=>r.json()).then(s=>{let rows='<tr><td>frames</td><td>'+s.frames+
'</td></tr>';for(const k in s.ms){rows+='<tr><td>'+k+'</td><td>'+s.ms[k].toFixed(1)+' ms</td></tr>'}
document.getElementById('t').innerHTML=rows}).catch(()=>{})}setInterval(tick,1000);tick()</script>
</body></html>
"""


class Preview(object):
    """The latest composite as JPEG, served to every client as multipart/x-mixed-replace; stats as JSON.
    Frames are encoded only while someone watches the stream."""

    BOUNDARY = "edgemattemjpeg"

    def __init__(self, host, port, title, encode):
        self.encode = encode  # NV21 picture -> JPEG bytes (DVPP's JPEG encoder)
        self.condition = threading.Condition()
        self.jpeg, self.sequence, self.stats, self.closed = None, 0, {"frames": 0, "ms": {}}, False
        self.viewers = 0
        preview = self
        page = (PAGE % {"title": title, "w": NET_W, "h": NET_H}).encode("utf-8")

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path in ("/", "/index.html"):
                    self._send(200, "text/html; charset=utf-8", page)
                elif self.path == "/stats.json":
                    with preview.condition:
                        body = json.dumps(preview.stats).encode("utf-8")
                    self._send(200, "application/json", body)
                elif self.path == "/stream.mjpg":
                    self._stream()
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, code, kind, body):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self):
                with preview.condition:
                    preview.viewers += 1  # from now on publish() encodes frames
                seen = 0
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=" + Preview.BOUNDARY)
                    self.send_header("Cache-Control", "no-cache")
                    self.end_headers()
                    while True:
                        with preview.condition:
                            preview.condition.wait_for(lambda: preview.sequence != seen or preview.closed, 1.0)
                            if preview.closed:
                                return
                            jpeg, seen = preview.jpeg, preview.sequence
                        if jpeg is None:
                            continue
                        self.wfile.write(("--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                          % (Preview.BOUNDARY, len(jpeg))).encode("ascii"))
                        self.wfile.write(jpeg)
                        self.wfile.write(b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return  # the viewer went away
                finally:
                    with preview.condition:
                        preview.viewers -= 1

        class Server(ThreadingMixIn, HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        try:
            self.server = Server((host, port), Handler)
        except OSError as e:
            raise AppError("cannot serve the preview on %s:%d (%s); choose another --preview port"
                           % (host, port, e.strerror or e))
        self.thread = threading.Thread(target=self.server.serve_forever, name="preview", daemon=True)
        self.thread.start()

    def publish(self, picture, frames, ms):
        with self.condition:
            watched = self.viewers > 0
        jpeg = self.encode(picture) if watched else None
        with self.condition:
            if jpeg is not None:
                self.jpeg, self.sequence = jpeg, self.sequence + 1
            self.stats = {"frames": frames, "ms": ms}
            self.condition.notify_all()

    def close(self):
        with self.condition:
            self.closed = True
            self.condition.notify_all()
        self.server.shutdown()
        self.server.server_close()


# -- main -------------------------------------------------------------------------------------------------
def say(text):
    print(text)
    sys.stdout.flush()


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="Portrait matting on %s with AscendCL (edgematte, preset %s)."
                                % (TITLE, GENERATED_BY))
    p.add_argument("--input", default="0", help="camera index (default 0), rtsp:// URL, or video file")
    p.add_argument("--output", help="write the composite to this video file (.mp4 or .avi)")
    p.add_argument("--force", action="store_true", help="replace --output if it exists")
    p.add_argument("--show", action="store_true", help="show the composite in a window (needs a display)")
    p.add_argument("--preview", type=int, metavar="PORT", help="serve the composite as MJPEG at http://HOST:PORT/")
    p.add_argument("--preview-host", default="0.0.0.0", help="address the preview listens on (default all)")
    p.add_argument("--mode", choices=MODES, default=DEFAULTS["mode"], help="composite, alpha, or side-by-side")
    p.add_argument("--background", default=DEFAULTS["background"], help="blur, green, #rrggbb, or an image file")
    p.add_argument("--reset-threshold", type=float, default=DEFAULTS["reset_threshold"],
                   help="mean luma change (0-255) above which the previous alpha is dropped (scene cut)")
    p.add_argument("--min-coverage", type=float, default=DEFAULTS["min_coverage"],
                   help="below this share of the matte's pixels above 0.5 the person has left and the previous "
                        "alpha is dropped")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--log-every", type=int, default=DEFAULTS["log_every"], help="frames between timing lines")
    p.add_argument("--model", default=os.path.join(os.path.dirname(here), MODEL_FILE), help="the .om file")
    p.add_argument("--refiner", default=os.path.join(os.path.dirname(here), REFINER_FILE) if REFINER_FILE else None,
                   help="the refiner's .om (M-Net)" if REFINER_FILE else argparse.SUPPRESS)
    p.add_argument("--no-refiner", action="store_true",
                   help="run without the refiner" if REFINER_FILE else argparse.SUPPRESS)
    p.add_argument("--device-id", type=int, default=0, help="NPU index (npu-smi info)")
    p.add_argument("--rtsp-timeout", type=float, default=10.0, help="seconds to wait for a stream to answer")
    p.add_argument("--camera-size", default="1280x720", metavar="WxH",
                   help="the camera's frame size to ask for (default 1280x720; it may give the nearest it has)")
    p.add_argument("--camera-decode", choices=("dvpp", "cpu"), default="dvpp",
                   help="who decodes a camera's MJPEG frames: DVPP's JPEG decoder (default) or OpenCV on the CPU")
    p.add_argument("--sequential", action="store_true",
                   help="run capture, inference and output one after another in one thread (the same output, "
                        "slower; for debugging)")
    args = p.parse_args(argv)
    if not (args.output or args.show or args.preview):
        p.error("give at least one of --output, --show, --preview")
    if args.output and os.path.exists(args.output) and not args.force:
        p.error("%s exists; pass --force to replace it" % args.output)
    if args.log_every < 1:
        p.error("--log-every must be at least 1")
    try:
        args.camera_size = tuple(int(v) for v in args.camera_size.lower().split("x"))
        if len(args.camera_size) != 2 or min(args.camera_size) < 1:
            raise ValueError
    except ValueError:
        p.error("--camera-size takes WIDTHxHEIGHT, e.g. 1280x720")
    return args


class Output(object):
    """Where the composite goes: a video file, a window, the browser preview; closed however the run ends."""

    def __init__(self, args, width, height, fps, encode=None):
        """``encode``: the preview's JPEG encoder (NV21 -> bytes), with --preview."""
        self.args, self.writer, self.preview = args, None, None
        if args.preview:
            self.preview = Preview(args.preview_host, args.preview, TITLE, encode)
            say("preview: http://%s:%d/" % (socket.gethostname() if args.preview_host == "0.0.0.0"
                                            else args.preview_host, args.preview))
        if args.output:
            out_w = width * (2 if args.mode == "side-by-side" else 1)
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if args.output.lower().endswith(".avi") else "mp4v"))
            self.writer = cv2.VideoWriter(args.output, fourcc, fps, (out_w, height))
            if not self.writer.isOpened():
                raise AppError("cannot write %s; use a .mp4 or .avi name in a writable folder" % args.output)

    def __call__(self, picture):
        """Write and show the NV21 ``picture``; False when the viewer closed the window."""
        if self.writer is None and not self.args.show:
            return True  # the preview alone: its JPEG is DVPP's, from the NV21 picture
        bgr = cv2.cvtColor(picture, cv2.COLOR_YUV2BGR_NV21)
        if self.writer is not None:
            self.writer.write(bgr)
        if self.args.show:
            cv2.imshow("edgematte", bgr)
            if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                say("stopped from the window")
                return False
        return True

    def close(self):
        if self.writer is not None:
            self.writer.release()  # the file is complete and playable however the loop ended
        if self.args.show:
            cv2.destroyAllWindows()
        if self.preview is not None:
            self.preview.close()


def to_nv21(bgr):
    """A camera frame (BGR, from OpenCV) as NV21, cropped to even sides: what DVPP and the composite take."""
    height, width = bgr.shape[0] // 2 * 2, bgr.shape[1] // 2 * 2
    return bgr_to_nv21(np.ascontiguousarray(bgr[:height, :width]))


def first_frame(args):
    """The source, its first frame (a JPEG's bytes, or a BGR picture), whether frames are JPEGs, and its rate."""
    cap, what, jpeg = open_source(args.input, int(args.rtsp_timeout * 1000), args.camera_size, args.camera_decode)
    for _ in range(UNDECODABLE_MAX if jpeg else 1):  # a camera's first MJPEG frames may be cut short
        ok, frame = cap.read()
        if not (ok and jpeg):
            break
        jpeg = frame.ndim == 2 and frame.shape[0] == 1  # a backend that ignored CONVERT_RGB sends pictures
        try:
            if not jpeg or jpeg_size(frame.tobytes()):
                break
        except AppError:
            pass
    if not ok:
        cap.release()
        raise AppError("%s gave no frame" % what)
    fps = cap.get(cv2.CAP_PROP_FPS)
    return cap, what, frame, jpeg, (fps if 1 <= fps <= 240 else 25.0)


def cpu_decode(frame):
    """A camera's MJPEG frame decoded by OpenCV on the CPU, as NV21."""
    bgr = cv2.imdecode(frame, cv2.IMREAD_COLOR)
    if bgr is None:
        raise AppError("the camera sent a frame OpenCV cannot decode")
    return to_nv21(bgr)


def camera_decoder(runtime, first, width, height):
    """DVPP's JPEG decoder for the camera's frames and the first one decoded; OpenCV's, if JPEGD refuses it."""
    try:
        decoder = JpegDecoder(runtime, width, height)
        picture = decoder(first)
        say("the camera's MJPEG frames are decoded by DVPP's JPEG decoder")
        return decoder, picture
    except (AclError, AppError) as e:
        say("DVPP's JPEG decoder refused the camera's first frame (%s): OpenCV decodes them on the CPU" % e)
        return cpu_decode, cpu_decode(first)


# -- the pipeline: capture, the NPU's work and the output each on their own thread --------------------------
class Reader(object):
    """The capture stage: frames from ``cap`` (after ``first``) on their own thread, through a bounded queue. A
    live source (camera, stream) drops its oldest waiting frame rather than wait, so the picture is at most one
    frame behind; a file waits, so no frame is lost and the output is the sequential loop's. ``threaded``
    False reads in the caller's thread."""

    def __init__(self, cap, first, live, threaded, decode=to_nv21, context=None):
        """``first``: the first frame, as NV21; ``decode``: a frame as read -> NV21; ``context``: the AscendCL
        context the capture thread uses (DVPP's JPEG decoder), or None."""
        self.cap, self.live, self.threaded, self.decode, self.context = cap, live, threaded, decode, context
        self.watch, self.dropped, self.error = Stopwatch(("read", "convert")), 0, None
        self.undecodable, self.failures_in_a_row = 0, 0
        self.frames = queue.Queue(maxsize=1 if live else 4)
        self.frames.put(first)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="capture", daemon=True) if threaded else None
        if threaded:
            self.thread.start()

    def _read(self):
        while True:
            self.watch.start()
            ok, frame = self.cap.read()
            self.watch.lap("read")
            picture = self._decoded(frame) if ok else None
            self.watch.lap("convert")
            if picture is not None or not ok:
                self.watch.frame_done()
                return picture

    def _decoded(self, frame):
        """The frame as NV21, or None for a camera frame JPEGD could not decode (skipped, as OpenCV skips one)."""
        if not isinstance(self.decode, JpegDecoder):
            return self.decode(frame)
        try:
            picture = self.decode(frame)
        except (AclError, AppError) as e:
            self.undecodable += 1
            self.failures_in_a_row += 1
            if self.undecodable == 1:
                say("skipped a camera frame DVPP's JPEG decoder could not decode (%s)" % e)
            if self.failures_in_a_row >= UNDECODABLE_MAX:
                raise AppError("DVPP's JPEG decoder failed on %d camera frames in a row (the last: %s); try "
                               "--camera-decode cpu" % (self.failures_in_a_row, e))
            return None
        self.failures_in_a_row = 0
        return picture

    def _run(self):
        try:
            if self.context is not None:
                check(acl.rt.set_context(self.context), "acl.rt.set_context (the capture thread)")
            while not self.stopping.is_set():
                frame = self._read()
                self._put(frame)
                if frame is None:
                    return
        except Exception as e:  # handed to the main thread, which raises it
            self.error = e
            self._put(None)

    def _put(self, item):
        while not self.stopping.is_set():
            try:
                if self.live:  # a camera does not wait for us: the oldest waiting frame makes way
                    self.frames.put_nowait(item)
                else:
                    self.frames.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.live:
                    try:
                        self.frames.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass

    def next(self):
        """The next frame, or None when the source has ended."""
        if not self.threaded:
            return self.frames.get() if not self.frames.empty() else self._read()
        frame = self.frames.get()
        if frame is None and self.error is not None:  # every frame read before the failure comes first
            raise self.error
        return frame

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()


class Presenter(object):
    """The output stage: the composite, the file, the window and the preview, on their own thread, in frame
    order; the NPU stage hands it (frame, alpha) and goes on with the next frame. Its queue is bounded, so a
    slow output holds the NPU stage back instead of piling frames up. ``threaded`` False works in the caller's
    thread (a window needs the main thread)."""

    def __init__(self, output, background, mode, threaded, stats, context):
        self.output, self.background, self.mode, self.threaded, self.stats = output, background, mode, threaded, stats
        self.context = context  # the AscendCL context this thread uses (the preview's JPEG encoder), or None
        self.watch, self.shown, self.error = Stopwatch(("composite", "show", "preview")), 0, None
        self.closed = threading.Event()  # the viewer closed the window
        self.items = queue.Queue(maxsize=2)
        self.thread = threading.Thread(target=self._run, name="output", daemon=True) if threaded else None
        if threaded:
            self.thread.start()

    def _show(self, frame, alpha):
        self.watch.start()
        picture = composite(frame, alpha, self.background, self.mode)
        self.watch.lap("composite")
        if not self.output(picture):
            self.closed.set()
        self.watch.lap("show")
        self.shown += 1
        if self.output.preview is not None:  # DVPP's JPEG encoder, while someone watches
            self.output.preview.publish(picture, self.shown, self.stats())
        self.watch.lap("preview")
        self.watch.frame_done()

    def _run(self):
        try:
            if self.context is not None:  # the preview's JPEG encoder is DVPP's: AscendCL calls from this thread
                check(acl.rt.set_context(self.context), "acl.rt.set_context (the output thread)")
            for frame, alpha in iter(self.items.get, None):
                if not self.closed.is_set():
                    self._show(frame, alpha)
        except Exception as e:  # handed to the main thread, which raises it
            self.error = e
            self.closed.set()
            for _ in iter(self.items.get, None):  # let the NPU stage's last puts through
                pass

    def put(self, frame, alpha):
        if self.error is not None:
            raise self.error
        if self.threaded:
            self.items.put((frame, alpha))
        else:
            self._show(frame, alpha)

    def finish(self):
        """Wait until every frame handed over is out (raising what the output stage raised)."""
        self.stop()
        if self.error is not None:
            raise self.error

    def stop(self):
        """End the output's thread once the frames handed over are out (however the run ends: an interrupted
        run's file holds every frame inferred, as the sequential loop's would)."""
        if self.thread is not None and self.thread.is_alive():
            self.items.put(None)
            self.thread.join()


def run(args):
    frames, runtime, cap, output, reader, presenter = 0, None, None, None, None, None
    previous = PreviousAlpha(NET_W, NET_H, args.reset_threshold, args.min_coverage, FEEDBACK)
    refiner, watch = None, Stopwatch(("vpc", "feedback", "infer", "refine"))
    try:
        cap, what, frame, jpeg, fps = first_frame(args)
        width, height = jpeg_size(frame.tobytes()) if jpeg else (frame.shape[1], frame.shape[0])
        width, height = width // 2 * 2, height // 2 * 2
        background = parse_background(args.background, width, height)
        runtime = AclRuntime(args.device_id)
        decode, frame = camera_decoder(runtime, frame, width, height) if jpeg else (to_nv21, to_nv21(frame))
        matting = runtime.load(args.model, (IMAGE_BYTES, ALPHA_BYTES), ALPHA_BYTES, dvpp_input=True)
        network_input = NetworkInput(runtime, matting, width, height)
        if args.refiner and not args.no_refiner:
            refiner = RefinerStage(runtime.load(args.refiner, (REF_W * REF_H * 3 // 2, REF_W * REF_H),
                                                REF_W * REF_H * 4), width, height)
        out_w = width * (2 if args.mode == "side-by-side" else 1)
        output = Output(args, width, height, fps, JpegEncoder(runtime, out_w, height) if args.preview else None)
        say("matting %dx%d from %s with a %dx%d model on %s, mode %s" % (width, height, what, NET_W, NET_H,
                                                                         SOC_VERSION, args.mode))
        threaded = not args.sequential
        reader = Reader(cap, frame, not os.path.exists(args.input), threaded, decode,
                        runtime.context if isinstance(decode, JpegDecoder) else None)
        presenter = Presenter(output, background, args.mode, threaded and not args.show,
                              lambda: stage_ms(reader, watch, presenter), runtime.context if args.preview else None)
        while not presenter.closed.is_set():  # the NPU's stage: the previous alpha makes it sequential
            frame = reader.next()
            if frame is None:
                say("%s ended after %d frames" % (what, frames))
                break
            watch.start()
            luma = network_input(frame)  # the upload, and DVPP's VPC scales the frame onto the model's input 0
            watch.lap("vpc")
            prev_alpha = previous.feed(luma)  # a cut drops the previous alpha
            watch.lap("feedback")
            alpha = previous.keep(matting.run(None, prev_alpha).reshape(NET_H, NET_W))
            watch.lap("infer")
            alpha = refiner(frame, alpha) if refiner is not None else alpha
            watch.lap("refine")
            presenter.put(frame, alpha)  # composited and written on the output's thread
            frames += 1
            watch.frame_done()
            if frames % args.log_every == 0:
                say("frames %d, resets %d, dropped %d, ms/frame: %s" % (frames, previous.resets, reader.dropped,
                                                                       stage_line(reader, watch, presenter)))
            if args.max_frames and frames >= args.max_frames:
                break
        presenter.finish()
    finally:  # the threads end before what they use is closed
        if reader is not None:
            reader.stop()
        if presenter is not None:
            presenter.stop()
        if output is not None:
            output.close()
        if cap is not None:
            cap.release()
        if runtime is not None:
            for failure in runtime.release():
                say("release: %s" % failure)
        say("done: %d frames, %d alpha resets%s%s" % (
            frames, previous.resets, "" if refiner is None else ", %d refiner runs" % refiner.refiner.runs,
            "" if reader is None or not reader.undecodable else ", %d undecodable camera frames skipped"
            % reader.undecodable))
    return frames


def stage_ms(reader, npu, presenter):
    """Each stage's mean ms per frame since the start, from the three stages' own stopwatches."""
    ms = dict(reader.watch.ms())
    ms.update(npu.ms())
    ms.update(presenter.watch.ms() if presenter is not None else {})
    return dict((stage, ms.get(stage, 0.0)) for stage in STAGES)


def stage_line(reader, npu, presenter):
    return ms_line(stage_ms(reader, npu, presenter), STAGES)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except KeyboardInterrupt:
        say("interrupted: everything released")
        return 130
    except (AppError, AclError) as e:
        sys.stderr.write("Error: %s\n" % e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
