"""Stand-in for pyACL (``import acl``, AscendCL's Python binding installed with CANN), on the CPU.

It implements exactly the calls the generated AscendCL app (skills/acl_app/main.py) makes, with pyACL's
signatures, return values and memory rules, so the app's own file runs unchanged on a laptop. The ``.om``
is stood in for by the bundle's network (:class:`edgematte.standin.network.StandinNetwork`).

The reference for each call is CANN's "pyACL API reference" (hiascend.com, aclpythondevg_01_*, 8.0.0 and
8.5.0) and the binding's source (gitcode.com/cann/runtime, python/pyACL): functions that create something
return ``(handle, ret)`` or a bare handle (0 on failure); the others return ``ret``; pointers are ints;
``acl.util.bytes_to_ptr`` takes ``bytes`` only (ValueError otherwise); the aclError codes are those of
aclError's table (ACL_ERROR_INVALID_PARAM 100000, ACL_ERROR_UNINITIALIZE 100001,
ACL_ERROR_REPEAT_INITIALIZE 100002, ACL_ERROR_INVALID_FILE 100003, ACL_ERROR_INVALID_MODEL_ID 100011).

Stricter than the device where the device's behaviour is undefined: memcpy checks that both pointers lie
in memory the stand-in handed out (or a live ``bytes_to_ptr`` object), that ``count`` fits ``destMax`` and
both regions, and that the copy kind matches where the memory lives (host run mode); nothing may be written
into a ``bytes`` object; ``ptr_to_bytes`` reads host memory only (a device pointer would crash the host).
Every refusal is logged with the reason. :func:`held` lists what the app has not released.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

ACL_SUCCESS = 0
ACL_ERROR_INVALID_PARAM = 100000
ACL_ERROR_UNINITIALIZE = 100001
ACL_ERROR_REPEAT_INITIALIZE = 100002
ACL_ERROR_INVALID_FILE = 100003
ACL_ERROR_INVALID_MODEL_ID = 100011
ACL_ERROR_RT_CONTEXT_NULL = 107002  # aclError's table: "the context is null" (no current context in the thread)
# aclrtEventRecordedStatus (acl.rt.query_event_status; pyACL reference, CANN 8.0 aclpythondevg_01_0096): NOT_READY is
# 0 here, the reverse of the older aclrtEventStatus of acl.rt.query_event (CANN 5.0.4 aclpythondevg_01_0074)
ACL_EVENT_RECORDED_STATUS_NOT_READY, ACL_EVENT_RECORDED_STATUS_COMPLETE = 0, 1
ACL_DEVICE, ACL_HOST = 0, 1
ACL_MEMCPY_HOST_TO_HOST, ACL_MEMCPY_HOST_TO_DEVICE, ACL_MEMCPY_DEVICE_TO_HOST, ACL_MEMCPY_DEVICE_TO_DEVICE = range(4)
_KIND_NAMES = {0: "HOST_TO_HOST", 1: "HOST_TO_DEVICE", 2: "DEVICE_TO_HOST", 3: "DEVICE_TO_DEVICE"}
_KINDS = {ACL_MEMCPY_HOST_TO_HOST: ("host", "host"), ACL_MEMCPY_HOST_TO_DEVICE: ("host", "device"),
          ACL_MEMCPY_DEVICE_TO_HOST: ("device", "host"), ACL_MEMCPY_DEVICE_TO_DEVICE: ("device", "device")}
DEVICE_COUNT = 1  # the stand-in has one NPU, index 0
BYTES_POINTERS_KEPT = 16  # bytes_to_ptr pointers stay valid for this many newer conversions (the app's use)


class InterruptAt(KeyboardInterrupt):
    """What the stand-in raises inside acl.mdl.execute to simulate Ctrl-C (tests)."""


@dataclass
class _Block:
    where: str                 # "device", "dvpp" (device memory from acl.media.dvpp_malloc), "host" (malloc_host)
    #                            or "bytes" (a bytes_to_ptr object: read-only)
    data: object               # bytearray, or the bytes object
    freed: bool = False


@dataclass
class AclSession:
    """What the stand-in's NPU runs: the bundle's model."""

    bundle: object                      # edgematte.bundle.Bundle
    int8: bool = False
    # the real stderr: run_app redirects sys.stdout/stderr into this log while the app runs
    log: Callable[[str], None] = lambda line: print(line, file=sys.__stderr__)
    interrupt_after: int | None = None  # raise KeyboardInterrupt in the execute after this many (tests)
    on_frame: Callable[[], None] | None = None  # called after each execute (progress bars)
    soc_name: str | None = None         # what acl.get_soc_name reports (default: the bundle's family's chip)
    keep_alphas: bool = False           # keep every output alpha in ``alphas`` (tests compare them with the model)
    pace_npu_ms: float | None = None    # each execute of the matting model takes at least this long (a board's NPU)
    before_bytes_api: bool = False      # play a pyACL older than CANN 6.0.1: acl.util without bytes_to_ptr/ptr_to_bytes
    # filled in while running
    executions: int = 0                 # of the matting model: one per frame
    refiner_executions: int = 0
    alphas: list = field(default_factory=list)
    refiner_calls: list = field(default_factory=list)  # with keep_alphas: (input bytes per input, output)


_session: AclSession | None = None


def configure(session: AclSession) -> AclSession:
    global _session, _state, util
    _session = session
    _state = _State()
    util = _OldUtil() if session.before_bytes_api else _Util()
    return session


def session() -> AclSession:
    if _session is None:
        raise RuntimeError("the acl stand-in is not configured: run the app with `edgematte run`")
    return _session


class _State:
    def __init__(self):
        self.initialised = False
        self.devices: set[int] = set()
        self.contexts: dict[int, int] = {}
        self.models: dict[int, object] = {}
        self.descs: dict[int, int | None] = {}
        self.datasets: dict[int, list[int]] = {}
        self.buffers: dict[int, tuple[int, int]] = {}
        self.blocks: dict[int, _Block] = {}
        self.bytes_pointers: OrderedDict[int, int] = OrderedDict()
        self.current: dict[int, int] = {}             # thread id -> its current context (aclrtSetCurrentContext)
        self.streams: dict[int, list] = {}            # stream -> the tasks waiting for synchronize_stream
        self.events: dict[int, dict] = {}             # event -> {"stream", "done", "asked"} once recorded
        self.channels: dict[int, bool] = {}           # DVPP channel description -> created (dvpp_create_channel)
        self.pics: dict[int, object] = {}             # DVPP picture descriptions (dvpp.PicDesc)
        self.resize_configs: dict[int, int] = {}      # -> interpolation
        self.jpege_configs: dict[int, int] = {}       # -> level
        self._handles = itertools.count(0x1000, 0x10)
        self._device_next, self._host_next = 0x1_0000_0000, 0x7F00_0000_0000

    def handle(self) -> int:
        return next(self._handles)

    def allocate(self, where: str, size: int, data=None) -> int:
        if where in ("device", "dvpp"):
            # 128-byte aligned, as acldvppMalloc's memory is (JPEGD's input must be; CANN 5.0.4 aclcppdevg_03_0168)
            pointer, self._device_next = self._device_next, self._device_next + (size + 127) // 128 * 128 + 128
        else:
            pointer, self._host_next = self._host_next, self._host_next + (size + 63) // 64 * 64 + 64
        self.blocks[pointer] = _Block(where, bytearray(size) if data is None else data)
        return pointer

    def blocks_live(self) -> list[int]:
        return [p for p, b in self.blocks.items() if not b.freed and b.where != "bytes"]

    def region(self, pointer: int, size: int, where: tuple[str, ...]):
        """(block, offset) when ``size`` bytes at ``pointer`` lie inside one live block of a kind in ``where``,
        else (None, 0)."""
        block, offset = self.find(pointer)
        if block is None or block.where not in where or offset + size > len(block.data):
            return None, 0
        return block, offset

    def find(self, pointer: int):
        """(block, offset) of the live block holding ``pointer``, or (None, 0)."""
        for start, block in self.blocks.items():
            if not block.freed and start <= pointer < start + len(block.data):
                return block, pointer - start
        return None, 0


_state = _State()


def _refuse(code: int, call: str, why: str) -> int:
    session().log(f"[acl stand-in] {call}: {why}; returns {code}")
    return code


def _initialised(call: str) -> int:
    return ACL_SUCCESS if _state.initialised else _refuse(ACL_ERROR_UNINITIALIZE, call, "acl.init was not called")


def _in_context(call: str) -> int:
    """ACL_SUCCESS when the calling thread has a current context (it created one, or called acl.rt.set_context)."""
    if _state.current.get(threading.get_ident()) in _state.contexts:
        return ACL_SUCCESS
    return _refuse(ACL_ERROR_RT_CONTEXT_NULL, call, "this thread has no current context: call acl.rt.set_context "
                                                    "(aclrtSetCurrentContext) in each thread that uses AscendCL")


def held() -> list[str]:
    """What has been acquired and not released (empty after a clean exit)."""
    s = _state
    left = [f"{len(s.blocks_live())} memory block(s)"] if s.blocks_live() else []
    for what, items in (("data buffer(s)", s.buffers), ("dataset(s)", s.datasets), ("model description(s)", s.descs),
                        ("model(s)", s.models), ("DVPP picture description(s)", s.pics),
                        ("DVPP channel(s)", s.channels), ("DVPP resize config(s)", s.resize_configs),
                        ("DVPP JPEGE config(s)", s.jpege_configs), ("event(s)", s.events), ("stream(s)", s.streams),
                        ("context(s)", s.contexts), ("device(s)", s.devices)):
        if items:
            left.append(f"{len(items)} {what}")
    if s.initialised:
        left.append("acl not finalized")
    return left


# -- acl --------------------------------------------------------------------------------------------------
def init(config_path: str = "") -> int:
    """acl.init(config_path) -> ret (aclInit)."""
    if _state.initialised:
        return _refuse(ACL_ERROR_REPEAT_INITIALIZE, "acl.init", "called twice")
    _state.initialised = True
    return ACL_SUCCESS


def finalize() -> int:
    """acl.finalize() -> ret (aclFinalize)."""
    if (ret := _initialised("acl.finalize")) != ACL_SUCCESS:
        return ret
    _state.initialised = False
    return ACL_SUCCESS


def get_soc_name() -> str:
    """acl.get_soc_name() -> name (aclrtGetSocName): the session's chip (default: the bundle's family's)."""
    s = session()
    if s.soc_name is not None:
        return s.soc_name
    from edgematte.devices import DEVICES

    family = DEVICES.get(s.bundle.manifest.device or "")
    return family.soc_version if family else ""


def create_data_buffer(data: int, size: int) -> int:
    """acl.create_data_buffer(data, size) -> buffer (aclCreateDataBuffer; 0 on failure)."""
    block, offset = _state.find(data)
    if block is None or block.where not in ("device", "dvpp") or offset + size > len(block.data) or size <= 0:
        _refuse(0, "acl.create_data_buffer", f"{size} bytes at {data:#x} are not inside device memory from acl.rt.malloc")
        return 0
    buffer = _state.handle()
    _state.buffers[buffer] = (data, size)
    return buffer


def destroy_data_buffer(data_buffer: int) -> int:
    """acl.destroy_data_buffer(data_buffer) -> ret (aclDestroyDataBuffer; the memory itself stays allocated)."""
    if _state.buffers.pop(data_buffer, None) is None:
        return _refuse(ACL_ERROR_INVALID_PARAM, "acl.destroy_data_buffer", f"unknown buffer {data_buffer:#x}")
    return ACL_SUCCESS


# -- acl.rt -----------------------------------------------------------------------------------------------
class _EventMark:
    """A recorded event's place in its stream: reaching it completes the event."""

    def __init__(self, state: dict):
        self.state = state

    def __call__(self):
        self.state["done"] = True
        return None


class _Rt:
    @staticmethod
    def set_device(device_id: int) -> int:
        """acl.rt.set_device(device_id) -> ret (aclrtSetDevice)."""
        if (ret := _initialised("acl.rt.set_device")) != ACL_SUCCESS:
            return ret
        if not isinstance(device_id, int) or not 0 <= device_id < DEVICE_COUNT:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.set_device", f"no device {device_id!r} "
                                                                         f"(the stand-in has {DEVICE_COUNT})")
        _state.devices.add(device_id)
        return ACL_SUCCESS

    @staticmethod
    def reset_device(device_id: int) -> int:
        """acl.rt.reset_device(device_id) -> ret (aclrtResetDevice)."""
        if device_id not in _state.devices:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.reset_device", f"device {device_id} was not set")
        _state.devices.discard(device_id)
        return ACL_SUCCESS

    @staticmethod
    def create_context(device_id: int):
        """acl.rt.create_context(device_id) -> (context, ret) (aclrtCreateContext)."""
        if device_id not in _state.devices:
            return 0, _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.create_context", f"device {device_id} was not set")
        context = _state.handle()
        _state.contexts[context] = device_id
        _state.current[threading.get_ident()] = context  # aclrtCreateContext makes it the thread's current one
        return context, ACL_SUCCESS

    @staticmethod
    def destroy_context(context: int) -> int:
        """acl.rt.destroy_context(context) -> ret (aclrtDestroyContext)."""
        if _state.contexts.pop(context, None) is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.destroy_context", f"unknown context {context:#x}")
        for thread in [t for t, c in _state.current.items() if c == context]:
            del _state.current[thread]
        return ACL_SUCCESS

    @staticmethod
    def set_context(context: int) -> int:
        """acl.rt.set_context(context) -> ret (aclrtSetCurrentContext): a thread other than the one that created
        the context must call it before its first AscendCL call."""
        if context not in _state.contexts:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.set_context", f"unknown context {context!r}")
        _state.current[threading.get_ident()] = context
        return ACL_SUCCESS

    @staticmethod
    def create_stream():
        """acl.rt.create_stream() -> (stream, ret) (aclrtCreateStream)."""
        if (ret := _in_context("acl.rt.create_stream")) != ACL_SUCCESS:
            return 0, ret
        stream = _state.handle()
        _state.streams[stream] = []
        return stream, ACL_SUCCESS

    @staticmethod
    def destroy_stream(stream: int) -> int:
        """acl.rt.destroy_stream(stream) -> ret (aclrtDestroyStream)."""
        if _state.streams.pop(stream, None) is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.destroy_stream", f"unknown stream {stream!r}")
        return ACL_SUCCESS

    @staticmethod
    def synchronize_stream(stream: int) -> int:
        """acl.rt.synchronize_stream(stream) -> ret (aclrtSynchronizeStream): the stream's tasks run now; until
        then their outputs hold what was there before (as on the device)."""
        if (ret := _in_context("acl.rt.synchronize_stream")) != ACL_SUCCESS:
            return ret
        if stream not in _state.streams:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.synchronize_stream", f"unknown stream {stream!r}")
        return _Rt._run(stream, len(_state.streams[stream]), "acl.rt.synchronize_stream")

    @staticmethod
    def _run(stream: int, count: int, call: str) -> int:
        """Run the stream's first ``count`` tasks, in order; a task that fails on the device reports here."""
        tasks = _state.streams[stream]
        ran, tasks[:count] = tasks[:count], []
        failed = [problem for problem in (task() for task in ran) if problem]
        return _refuse(ACL_ERROR_INVALID_PARAM, call, "; ".join(failed)) if failed else ACL_SUCCESS

    @staticmethod
    def create_event():
        """acl.rt.create_event() -> (event, ret) (aclrtCreateEvent)."""
        if (ret := _in_context("acl.rt.create_event")) != ACL_SUCCESS:
            return 0, ret
        event = _state.handle()
        _state.events[event] = {"stream": None, "done": False, "asked": False}
        return event, ACL_SUCCESS

    @staticmethod
    def destroy_event(event: int) -> int:
        """acl.rt.destroy_event(event) -> ret (aclrtDestroyEvent)."""
        if _state.events.pop(event, None) is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.destroy_event", f"unknown event {event!r}")
        return ACL_SUCCESS

    @staticmethod
    def record_event(event: int, stream: int) -> int:
        """acl.rt.record_event(event, stream) -> ret (aclrtRecordEvent): the event completes when the stream reaches
        it, after every task queued before it."""
        if (ret := _in_context("acl.rt.record_event")) != ACL_SUCCESS:
            return ret
        state = _state.events.get(event)
        if state is None or stream not in _state.streams:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.record_event", f"unknown event {event!r} or stream {stream!r}")
        state.update(stream=stream, done=False, asked=False)
        _state.streams[stream].append(_EventMark(state))
        return ACL_SUCCESS

    @staticmethod
    def query_event_status(event: int):
        """acl.rt.query_event_status(event) -> (status, ret) (aclrtQueryEventStatus): NOT_READY (0) until the stream
        has reached the event, COMPLETE (1) after. The device is never done at once: the first query after a record
        answers NOT_READY; the next runs the stream up to the event."""
        call = "acl.rt.query_event_status"
        if (ret := _in_context(call)) != ACL_SUCCESS:
            return ACL_EVENT_RECORDED_STATUS_NOT_READY, ret
        state = _state.events.get(event)
        if state is None:
            return ACL_EVENT_RECORDED_STATUS_NOT_READY, _refuse(ACL_ERROR_INVALID_PARAM, call, f"unknown event {event!r}")
        if state["done"] or state["stream"] is None:  # done, or never recorded (the reference: NOT_READY)
            return int(state["done"]), ACL_SUCCESS
        if not state["asked"]:
            state["asked"] = True
            return ACL_EVENT_RECORDED_STATUS_NOT_READY, ACL_SUCCESS
        tasks = _state.streams.get(state["stream"], [])
        marker = next((i for i, task in enumerate(tasks) if isinstance(task, _EventMark) and task.state is state), None)
        ret = _Rt._run(state["stream"], len(tasks) if marker is None else marker + 1, call)
        return int(state["done"]), ret

    @staticmethod
    def get_run_mode():
        """acl.rt.get_run_mode() -> (run_mode, ret) (aclrtGetRunMode): the laptop is a host beside the NPU."""
        return ACL_HOST, _initialised("acl.rt.get_run_mode")

    @staticmethod
    def malloc(size: int, policy: int):
        """acl.rt.malloc(size, policy) -> (dev_ptr, ret) (aclrtMalloc: device memory)."""
        if not _state.contexts:
            return 0, _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.malloc", "no context (acl.rt.create_context first)")
        if not isinstance(size, int) or size <= 0 or policy not in (0, 1, 2):
            return 0, _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.malloc", f"size {size!r}, policy {policy!r}")
        return _state.allocate("device", size), ACL_SUCCESS

    @staticmethod
    def malloc_host(size: int):
        """acl.rt.malloc_host(size) -> (host_ptr, ret) (aclrtMallocHost)."""
        if not isinstance(size, int) or size <= 0:
            return 0, _refuse(ACL_ERROR_INVALID_PARAM, "acl.rt.malloc_host", f"size {size!r}")
        return _state.allocate("host", size), ACL_SUCCESS

    @staticmethod
    def _free(pointer: int, where: str, call: str) -> int:
        block = _state.blocks.get(pointer)
        if block is None or block.freed or block.where != where:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"{pointer:#x} is not {where} memory that is allocated "
                                                          f"(double free, or the other free call)")
        block.freed = True
        return ACL_SUCCESS

    def free(self, dev_ptr: int) -> int:
        """acl.rt.free(dev_ptr) -> ret (aclrtFree)."""
        return self._free(dev_ptr, "device", "acl.rt.free")

    def free_host(self, host_ptr: int) -> int:
        """acl.rt.free_host(host_ptr) -> ret (aclrtFreeHost)."""
        return self._free(host_ptr, "host", "acl.rt.free_host")

    @staticmethod
    def memcpy(dst: int, dest_max: int, src: int, count: int, kind: int) -> int:
        """acl.rt.memcpy(dst, dest_max, src, count, kind) -> ret (aclrtMemcpy, synchronous)."""
        call = "acl.rt.memcpy"
        if kind not in _KINDS:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"unknown kind {kind!r}")
        if not isinstance(count, int) or count < 0 or count > dest_max:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"count {count!r} is above destMax {dest_max}")
        target, t_off = _state.find(dst)
        source, s_off = _state.find(src)
        if target is None or source is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"{'dst' if target is None else 'src'} is not memory the "
                                                          f"app allocated (or its bytes object is gone)")
        if target.where == "bytes":
            return _refuse(ACL_ERROR_INVALID_PARAM, call, "dst is a bytes object from acl.util.bytes_to_ptr: bytes "
                                                          "are immutable (copy into acl.rt.malloc_host memory)")
        if t_off + dest_max > len(target.data) or s_off + count > len(source.data):
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"{count} bytes do not fit the regions "
                                                          f"(dst has {len(target.data) - t_off}, src {len(source.data) - s_off})")
        want = _KINDS[kind]
        have = ("host" if source.where in ("host", "bytes") else "device", "host" if target.where == "host" else "device")
        if have != want:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"kind {_KIND_NAMES[kind]} copies {want[0]} -> {want[1]}, "
                                                          f"but src is {have[0]} and dst is {have[1]} memory")
        target.data[t_off:t_off + count] = bytes(source.data[s_off:s_off + count])
        return ACL_SUCCESS


# -- acl.mdl ----------------------------------------------------------------------------------------------
class _Mdl:
    @staticmethod
    def load_from_file(model_path: str):
        """acl.mdl.load_from_file(model_path) -> (model_id, ret) (aclmdlLoadFromFile)."""
        from edgematte.standin.network import StandinNetwork

        if (ret := _initialised("acl.mdl.load_from_file")) != ACL_SUCCESS:
            return 0, ret
        if not _state.contexts:
            return 0, _refuse(ACL_ERROR_INVALID_PARAM, "acl.mdl.load_from_file", "no context")
        s = session()
        try:
            model = StandinNetwork.at(s.bundle, str(model_path), s.int8, pace_ms=s.pace_npu_ms)
        except Exception as e:  # StandinNetworkError for a damaged model; BundleError for a missing one
            from edgematte.errors import shorten

            return 0, _refuse(ACL_ERROR_INVALID_FILE, "acl.mdl.load_from_file", f"cannot load the bundle's model "
                                                                                f"({shorten(str(e))})")
        if model is None:
            return 0, _refuse(ACL_ERROR_INVALID_FILE, "acl.mdl.load_from_file",
                              f"no model at {model_path!r} (the stand-in stands in for the bundle's "
                              f"{' and '.join(StandinNetwork.om_files(s.bundle))})")
        model_id = _state.handle()
        _state.models[model_id] = model
        return model_id, ACL_SUCCESS

    @staticmethod
    def unload(model_id: int) -> int:
        """acl.mdl.unload(model_id) -> ret (aclmdlUnload)."""
        if _state.models.pop(model_id, None) is None:
            return _refuse(ACL_ERROR_INVALID_MODEL_ID, "acl.mdl.unload", f"unknown model {model_id!r}")
        return ACL_SUCCESS

    @staticmethod
    def create_desc() -> int:
        """acl.mdl.create_desc() -> model_desc (aclmdlCreateDesc)."""
        desc = _state.handle()
        _state.descs[desc] = None
        return desc

    @staticmethod
    def get_desc(model_desc: int, model_id: int) -> int:
        """acl.mdl.get_desc(model_desc, model_id) -> ret (aclmdlGetDesc)."""
        if model_desc not in _state.descs:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.mdl.get_desc", "unknown description")
        if model_id not in _state.models:
            return _refuse(ACL_ERROR_INVALID_MODEL_ID, "acl.mdl.get_desc", f"unknown model {model_id!r}")
        _state.descs[model_desc] = model_id
        return ACL_SUCCESS

    @staticmethod
    def destroy_desc(model_desc: int) -> int:
        """acl.mdl.destroy_desc(model_desc) -> ret (aclmdlDestroyDesc)."""
        if model_desc not in _state.descs:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.mdl.destroy_desc", "unknown description")
        del _state.descs[model_desc]
        return ACL_SUCCESS

    @staticmethod
    def _described(model_desc: int):
        model_id = _state.descs.get(model_desc)
        if model_id not in _state.models:
            raise ValueError("the description is unknown or was not filled by acl.mdl.get_desc")
        return _state.models[model_id]

    def get_num_inputs(self, model_desc: int) -> int:
        """acl.mdl.get_num_inputs(model_desc) -> count (aclmdlGetNumInputs)."""
        return len(self._described(model_desc).inputs)

    def get_num_outputs(self, model_desc: int) -> int:
        """acl.mdl.get_num_outputs(model_desc) -> count (aclmdlGetNumOutputs)."""
        return len(self._described(model_desc).outputs)

    def get_input_size_by_index(self, model_desc: int, index: int) -> int:
        """acl.mdl.get_input_size_by_index(model_desc, index) -> bytes (aclmdlGetInputSizeByIndex; with AIPP,
        the size of the frame AIPP takes)."""
        return self._described(model_desc).input_bytes[index]

    def get_output_size_by_index(self, model_desc: int, index: int) -> int:
        """acl.mdl.get_output_size_by_index(model_desc, index) -> bytes (aclmdlGetOutputSizeByIndex)."""
        return self._described(model_desc).output_bytes[index]

    @staticmethod
    def create_dataset() -> int:
        """acl.mdl.create_dataset() -> dataset (aclmdlCreateDataset)."""
        dataset = _state.handle()
        _state.datasets[dataset] = []
        return dataset

    @staticmethod
    def add_dataset_buffer(dataset: int, data_buffer: int):
        """acl.mdl.add_dataset_buffer(dataset, data_buffer) -> (dataset, ret) (aclmdlAddDatasetBuffer)."""
        if dataset not in _state.datasets or data_buffer not in _state.buffers:
            return dataset, _refuse(ACL_ERROR_INVALID_PARAM, "acl.mdl.add_dataset_buffer", "unknown dataset or buffer")
        _state.datasets[dataset].append(data_buffer)
        return dataset, ACL_SUCCESS

    @staticmethod
    def destroy_dataset(dataset: int) -> int:
        """acl.mdl.destroy_dataset(dataset) -> ret (aclmdlDestroyDataset; its buffers are not destroyed)."""
        if _state.datasets.pop(dataset, None) is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.mdl.destroy_dataset", "unknown dataset")
        return ACL_SUCCESS

    @staticmethod
    def execute(model_id: int, input_dataset: int, output_dataset: int) -> int:
        """acl.mdl.execute(model_id, input, output) -> ret (aclmdlExecute, synchronous)."""
        task, ret = _Mdl._execution(model_id, input_dataset, output_dataset, "acl.mdl.execute")
        if task is None:
            return ret
        problem = task()
        return ACL_SUCCESS if problem is None else _refuse(ACL_ERROR_INVALID_PARAM, "acl.mdl.execute", problem)

    @staticmethod
    def execute_async(model_id: int, input_dataset: int, output_dataset: int, stream: int) -> int:
        """acl.mdl.execute_async(model_id, input, output, stream) -> ret (aclmdlExecuteAsync): queued on the stream;
        the outputs hold what was there before until the stream reaches it (synchronize_stream, or an event
        recorded after it and found complete)."""
        call = "acl.mdl.execute_async"
        if (ret := _in_context(call)) != ACL_SUCCESS:
            return ret
        if stream not in _state.streams:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"unknown stream {stream!r}")
        task, ret = _Mdl._execution(model_id, input_dataset, output_dataset, call)
        if task is not None:
            _state.streams[stream].append(task)
        return ret

    @staticmethod
    def _execution(model_id: int, input_dataset: int, output_dataset: int, call: str):
        """(the model's run on the datasets as a task, ACL_SUCCESS), or (None, error code) after logging why not."""
        s = session()
        model = _state.models.get(model_id)
        if model is None:
            return None, _refuse(ACL_ERROR_INVALID_MODEL_ID, call, f"unknown model {model_id!r}")
        ins, outs = _state.datasets.get(input_dataset), _state.datasets.get(output_dataset)
        if ins is None or outs is None:
            return None, _refuse(ACL_ERROR_INVALID_PARAM, call, "unknown dataset")
        if len(ins) != len(model.inputs) or len(outs) != len(model.outputs):
            return None, _refuse(ACL_ERROR_INVALID_PARAM, call, f"{len(ins)} input / {len(outs)} output buffers for "
                                                                f"a model with {len(model.inputs)} / {len(model.outputs)}")
        for what, buffers, sizes in (("input", ins, model.input_bytes), ("output", outs, model.output_bytes)):
            for i, b in enumerate(buffers):
                if _state.buffers[b][1] != sizes[i]:
                    return None, _refuse(ACL_ERROR_INVALID_PARAM, call, f"{what} {i} buffer has {_state.buffers[b][1]} "
                                                                        f"bytes, the model's has {sizes[i]}")

        def task():
            main = model.network is s.bundle  # the matting model (frames are counted by its executions)
            if main and s.interrupt_after is not None and s.executions >= s.interrupt_after:
                raise InterruptAt(f"simulated Ctrl-C at execution {s.executions}")
            raws = []
            for b in ins:
                pointer, size = _state.buffers[b]
                block, offset = _state.find(pointer)
                if block is None:
                    return f"{call}: an input buffer's memory was freed before the model ran"
                raws.append(np.frombuffer(bytes(block.data[offset:offset + size]), np.uint8))
            outputs = model.infer(raws)
            for i, b in enumerate(outs):
                pointer, size = _state.buffers[b]
                block, offset = _state.find(pointer)
                if block is None:
                    return f"{call}: an output buffer's memory was freed before the model ran"
                block.data[offset:offset + size] = outputs[i].tobytes()
                if s.keep_alphas and i == 0 and main:
                    s.alphas.append(outputs[i].reshape(outputs[i].shape[-2:]).copy())
            if not main:
                s.refiner_executions += 1
                if s.keep_alphas:
                    s.refiner_calls.append((raws, outputs[0].copy()))
                return None
            s.executions += 1
            if s.on_frame:
                s.on_frame()
            return None
        return task, ACL_SUCCESS


# -- acl.media (DVPP: VPC resize, JPEGE and JPEGD; rules and work in edgematte.standin.dvpp) ------------------
class _Media:
    """The DVPP calls the app makes (pyACL's acl.media, acldvpp*): memory, channel, picture descriptions, VPC
    resize, JPEG encode and decode. Work is queued on the stream and runs at acl.rt.synchronize_stream, as on the device:
    an output read before the stream is synchronised holds what was there before."""

    @staticmethod
    def dvpp_malloc(size: int):
        """acl.media.dvpp_malloc(size) -> (dev_ptr, ret) (acldvppMalloc: device memory DVPP can read and write)."""
        if (ret := _in_context("acl.media.dvpp_malloc")) != ACL_SUCCESS:
            return 0, ret
        if not isinstance(size, int) or size <= 0:
            return 0, _refuse(ACL_ERROR_INVALID_PARAM, "acl.media.dvpp_malloc", f"size {size!r}")
        return _state.allocate("dvpp", size), ACL_SUCCESS

    @staticmethod
    def dvpp_free(dev_ptr: int) -> int:
        """acl.media.dvpp_free(dev_ptr) -> ret (acldvppFree)."""
        return _Rt._free(dev_ptr, "dvpp", "acl.media.dvpp_free")

    @staticmethod
    def _create(table: dict, value) -> int:
        handle = _state.handle()
        table[handle] = value
        return handle

    @staticmethod
    def _destroy(table: dict, handle: int, call: str) -> int:
        if table.pop(handle, None) is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"unknown handle {handle!r} (destroyed twice?)")
        return ACL_SUCCESS

    def dvpp_create_channel_desc(self) -> int:
        """acl.media.dvpp_create_channel_desc() -> channel_desc (acldvppCreateChannelDesc)."""
        return self._create(_state.channels, False)

    def dvpp_destroy_channel_desc(self, channel_desc: int) -> int:
        """acl.media.dvpp_destroy_channel_desc(channel_desc) -> ret: its channel must be destroyed first."""
        if _state.channels.get(channel_desc):
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.media.dvpp_destroy_channel_desc",
                           "its channel is still open (acl.media.dvpp_destroy_channel first)")
        return self._destroy(_state.channels, channel_desc, "acl.media.dvpp_destroy_channel_desc")

    @staticmethod
    def dvpp_create_channel(channel_desc: int) -> int:
        """acl.media.dvpp_create_channel(channel_desc) -> ret (acldvppCreateChannel)."""
        if (ret := _in_context("acl.media.dvpp_create_channel")) != ACL_SUCCESS:
            return ret
        if _state.channels.get(channel_desc) is not False:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.media.dvpp_create_channel",
                           "unknown channel description, or its channel is open already")
        _state.channels[channel_desc] = True
        return ACL_SUCCESS

    @staticmethod
    def dvpp_destroy_channel(channel_desc: int) -> int:
        """acl.media.dvpp_destroy_channel(channel_desc) -> ret (acldvppDestroyChannel)."""
        if not _state.channels.get(channel_desc):
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.media.dvpp_destroy_channel", "no open channel there")
        _state.channels[channel_desc] = False
        return ACL_SUCCESS

    def dvpp_create_pic_desc(self) -> int:
        """acl.media.dvpp_create_pic_desc() -> pic_desc (acldvppCreatePicDesc)."""
        from edgematte.standin.dvpp import PicDesc

        return self._create(_state.pics, PicDesc())

    def dvpp_destroy_pic_desc(self, pic_desc: int) -> int:
        """acl.media.dvpp_destroy_pic_desc(pic_desc) -> ret (its buffer stays allocated)."""
        return self._destroy(_state.pics, pic_desc, "acl.media.dvpp_destroy_pic_desc")

    @staticmethod
    def _set(pic_desc: int, field: str, value) -> int:
        pic = _state.pics.get(pic_desc)
        call = f"acl.media.dvpp_set_pic_desc_{field}"
        if pic is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, "unknown picture description")
        if not isinstance(value, int) or value < 0:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"{value!r} is not a non-negative int")
        setattr(pic, field, value)
        return ACL_SUCCESS

    def dvpp_create_resize_config(self) -> int:
        """acl.media.dvpp_create_resize_config() -> resize_config (interpolation 0, the chip's default)."""
        return self._create(_state.resize_configs, 0)

    @staticmethod
    def dvpp_set_resize_config_interpolation(resize_config: int, interpolation: int) -> int:
        """acl.media.dvpp_set_resize_config_interpolation(resize_config, interpolation) -> ret."""
        if resize_config not in _state.resize_configs or interpolation not in range(5):
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.media.dvpp_set_resize_config_interpolation",
                           f"unknown config, or interpolation {interpolation!r} outside 0-4")
        _state.resize_configs[resize_config] = interpolation
        return ACL_SUCCESS

    def dvpp_destroy_resize_config(self, resize_config: int) -> int:
        return self._destroy(_state.resize_configs, resize_config, "acl.media.dvpp_destroy_resize_config")

    def dvpp_create_jpege_config(self) -> int:
        """acl.media.dvpp_create_jpege_config() -> jpege_config (level 100 until set)."""
        return self._create(_state.jpege_configs, 100)

    @staticmethod
    def dvpp_set_jpege_config_level(jpege_config: int, level: int) -> int:
        """acl.media.dvpp_set_jpege_config_level(jpege_config, level) -> ret (level: the quality, 0-100)."""
        from edgematte.standin.dvpp import JPEGE_LEVELS

        if jpege_config not in _state.jpege_configs or not JPEGE_LEVELS[0] <= level <= JPEGE_LEVELS[1]:
            return _refuse(ACL_ERROR_INVALID_PARAM, "acl.media.dvpp_set_jpege_config_level",
                           f"unknown config, or level {level!r} outside {JPEGE_LEVELS[0]}-{JPEGE_LEVELS[1]}")
        _state.jpege_configs[jpege_config] = level
        return ACL_SUCCESS

    def dvpp_destroy_jpege_config(self, jpege_config: int) -> int:
        return self._destroy(_state.jpege_configs, jpege_config, "acl.media.dvpp_destroy_jpege_config")

    @staticmethod
    def _picture(pic_desc: int, use: str, call: str):
        """(PicDesc, block, offset) of a picture DVPP may use, or (None, error code) after logging why not."""
        from edgematte.standin.dvpp import picture_problem, rules_for

        pic = _state.pics.get(pic_desc)
        if pic is None:
            return None, _refuse(ACL_ERROR_INVALID_PARAM, call, f"unknown {use} picture description")
        rules = rules_for(get_soc_name())
        problem = picture_problem(pic, rules, use)
        if problem:
            return None, _refuse(ACL_ERROR_INVALID_PARAM, call, f"{problem} ({rules.source})")
        kinds = ("dvpp", "device") if use.startswith("vpc") and rules.vpc_takes_rt_malloc else ("dvpp",)
        block, offset = _state.region(pic.data, pic.size, kinds)
        if block is None:
            return None, _refuse(ACL_ERROR_INVALID_PARAM, call, f"the {use}'s {pic.size} bytes at {pic.data:#x} are "
                                                                f"not inside memory from {' or '.join(kinds)} malloc "
                                                                f"({'acl.media.dvpp_malloc' if kinds == ('dvpp',) else 'acl.media.dvpp_malloc or acl.rt.malloc'} on {rules.chips})")
        return (pic, block, offset), ACL_SUCCESS

    def _ready(self, call: str, channel_desc: int, stream: int) -> int:
        if (ret := _in_context(call)) != ACL_SUCCESS:
            return ret
        if not _state.channels.get(channel_desc):
            return _refuse(ACL_ERROR_INVALID_PARAM, call, "the channel is not open (acl.media.dvpp_create_channel)")
        if stream not in _state.streams:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"unknown stream {stream!r}")
        return ACL_SUCCESS

    def dvpp_vpc_resize_async(self, channel_desc: int, input_pic_desc: int, output_pic_desc: int,
                              resize_config: int, stream: int) -> int:
        """acl.media.dvpp_vpc_resize_async(channel_desc, input_desc, output_desc, resize_config, stream) -> ret
        (acldvppVpcResizeAsync): queued; done at acl.rt.synchronize_stream."""
        from edgematte.pictures import chroma_swapped
        from edgematte.standin.dvpp import INTERPOLATIONS, read_nv, vpc_resize, write_nv

        call = "acl.media.dvpp_vpc_resize_async"
        if (ret := self._ready(call, channel_desc, stream)) != ACL_SUCCESS:
            return ret
        interpolation = _state.resize_configs.get(resize_config)
        if interpolation not in INTERPOLATIONS:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"resize config {resize_config!r}: interpolation "
                                                          f"{interpolation!r}; the stand-in emulates 1 (OpenCV-like "
                                                          f"bilinear) and 2 (nearest) only: set one")
        source, ret = self._picture(input_pic_desc, "vpc input", call)
        if source is None:
            return ret
        target, ret = self._picture(output_pic_desc, "vpc output", call)
        if target is None:
            return ret
        (src, block, offset), (dst, out_block, out_offset) = source, target

        def task():
            picture = read_nv(bytes(block.data[offset:offset + src.size]), src)
            if src.format != dst.format:  # NV12 <-> NV21
                picture = chroma_swapped(picture)
            raw = write_nv(vpc_resize(picture, dst.width, dst.height, interpolation), dst)
            out_block.data[out_offset:out_offset + len(raw)] = raw
            return None
        _state.streams[stream].append(task)
        return ACL_SUCCESS

    def dvpp_jpeg_predict_enc_size(self, input_pic_desc: int, jpege_config: int):
        """acl.media.dvpp_jpeg_predict_enc_size(input_desc, jpege_config) -> (size, ret)."""
        from edgematte.standin.dvpp import predicted_jpeg_size

        call = "acl.media.dvpp_jpeg_predict_enc_size"
        if jpege_config not in _state.jpege_configs:
            return 0, _refuse(ACL_ERROR_INVALID_PARAM, call, "unknown JPEGE config")
        source, ret = self._picture(input_pic_desc, "jpege input", call)
        return (predicted_jpeg_size(source[0]), ACL_SUCCESS) if source else (0, ret)

    def dvpp_jpeg_encode_async(self, channel_desc: int, input_pic_desc: int, data: int, size_ptr: int,
                               jpege_config: int, stream: int) -> int:
        """acl.media.dvpp_jpeg_encode_async(channel_desc, input_desc, data, size_ptr, jpege_config, stream) -> ret
        (acldvppJpegEncodeAsync): ``size_ptr`` points at a uint32 on the host holding the output buffer's size;
        after acl.rt.synchronize_stream it holds the JPEG's size."""
        from edgematte.standin.dvpp import jpeg_encode, read_nv

        call = "acl.media.dvpp_jpeg_encode_async"
        if (ret := self._ready(call, channel_desc, stream)) != ACL_SUCCESS:
            return ret
        level = _state.jpege_configs.get(jpege_config)
        if level is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, "unknown JPEGE config")
        source, ret = self._picture(input_pic_desc, "jpege input", call)
        if source is None:
            return ret
        size_block, size_offset = _state.region(size_ptr, 4, ("host",))
        if size_block is None:  # pyACL's example passes a bytes object and reads it after the call; Python's
            # bytes are immutable, so the stand-in asks for host memory the app reads back
            return _refuse(ACL_ERROR_INVALID_PARAM, call, "size_ptr is not 4 bytes of acl.rt.malloc_host memory")
        capacity = int(np.frombuffer(bytes(size_block.data[size_offset:size_offset + 4]), np.uint32)[0])
        out_block, out_offset = _state.region(data, capacity, ("dvpp",))
        if out_block is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"the output's {capacity} bytes at {data:#x} are not inside "
                                                          f"acl.media.dvpp_malloc memory")
        pic, block, offset = source

        def task():
            jpeg = jpeg_encode(read_nv(bytes(block.data[offset:offset + pic.size]), pic), pic.format, level)
            if len(jpeg) > capacity:
                return f"{call}: the JPEG has {len(jpeg)} bytes, the output buffer {capacity}"
            out_block.data[out_offset:out_offset + len(jpeg)] = jpeg
            size_block.data[size_offset:size_offset + 4] = np.array([len(jpeg)], np.uint32).tobytes()
            return None
        _state.streams[stream].append(task)
        return ACL_SUCCESS

    def dvpp_jpeg_decode_async(self, channel_desc: int, data: int, size: int, output_pic_desc: int,
                               stream: int) -> int:
        """acl.media.dvpp_jpeg_decode_async(channel_desc, data, size, output_desc, stream) -> ret
        (acldvppJpegDecodeAsync): ``size`` bytes of JPEG at ``data`` (dvpp_malloc memory, 128-aligned) decoded
        into the output description's buffer; its width and height are JPEGD's to set (read them with
        acl.media.dvpp_get_pic_desc_width/height after acl.rt.synchronize_stream)."""
        from edgematte.standin.dvpp import JPEGD_INPUT_ALIGN, jpeg_decode, jpeg_header, jpegd_problem, write_nv

        call = "acl.media.dvpp_jpeg_decode_async"
        if (ret := self._ready(call, channel_desc, stream)) != ACL_SUCCESS:
            return ret
        block, offset = _state.region(data, size, ("dvpp",)) if isinstance(size, int) and size > 0 else (None, 0)
        if block is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"the input's {size!r} bytes at {data:#x} are not inside "
                                                          f"acl.media.dvpp_malloc memory")
        if data % JPEGD_INPUT_ALIGN:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"the input at {data:#x} is not {JPEGD_INPUT_ALIGN}-byte "
                                                          f"aligned (acl.media.dvpp_malloc's memory is)")
        pic = _state.pics.get(output_pic_desc)
        if pic is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, "unknown output picture description")
        jpeg = bytes(block.data[offset:offset + size])
        rules = rules_for_soc()
        problem = jpegd_problem(jpeg_header(jpeg), pic, rules)
        if problem:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"{problem} ({rules.source})")
        out_block, out_offset = _state.region(pic.data, pic.size, ("dvpp",))
        if out_block is None:
            return _refuse(ACL_ERROR_INVALID_PARAM, call, f"the output's {pic.size} bytes at {pic.data:#x} are not "
                                                          f"inside acl.media.dvpp_malloc memory")

        def task():
            try:
                picture = jpeg_decode(jpeg, pic.format)
            except ValueError as e:  # a task that fails on the device reports at the stream's synchronisation
                return f"{call}: {e}"
            pic.height, pic.width = picture.shape[0] * 2 // 3, picture.shape[1]
            raw = write_nv(picture, pic)
            out_block.data[out_offset:out_offset + len(raw)] = raw
            return None
        _state.streams[stream].append(task)
        return ACL_SUCCESS

    @staticmethod
    def dvpp_get_pic_desc_width(pic_desc: int) -> int:
        """acl.media.dvpp_get_pic_desc_width(pic_desc) -> width (CANN 8.0 aclpythondevg_01_0257; 0 for an unknown
        description or none set)."""
        pic = _state.pics.get(pic_desc)
        return 0 if pic is None or pic.width is None else pic.width

    @staticmethod
    def dvpp_get_pic_desc_height(pic_desc: int) -> int:
        """acl.media.dvpp_get_pic_desc_height(pic_desc) -> height (0 for an unknown description or none set)."""
        pic = _state.pics.get(pic_desc)
        return 0 if pic is None or pic.height is None else pic.height


def rules_for_soc():
    """The DVPP rules of the chip the stand-in plays (acl.get_soc_name's answer)."""
    from edgematte.standin.dvpp import rules_for

    return rules_for(get_soc_name())


# -- acl.util ---------------------------------------------------------------------------------------------
class _Util:
    @staticmethod
    def bytes_to_ptr(data: bytes) -> int:
        """acl.util.bytes_to_ptr(data) -> ptr: the address of a bytes object's data (valid while it lives)."""
        if not isinstance(data, bytes):
            raise ValueError("needs an byte as argument")  # pyACL's own message (util/bytes_convert.cpp)
        pointer = _state.allocate("bytes", len(data), data)
        _state.bytes_pointers[pointer] = len(data)
        while len(_state.bytes_pointers) > BYTES_POINTERS_KEPT:  # the app let those objects go long ago
            old, _ = _state.bytes_pointers.popitem(last=False)
            _state.blocks.pop(old, None)
        return pointer

    @staticmethod
    def ptr_to_bytes(ptr: int, size: int) -> bytes:
        """acl.util.ptr_to_bytes(ptr, size) -> bytes: a copy of ``size`` bytes of host memory."""
        block, offset = _state.find(ptr)
        if block is None or block.where in ("device", "dvpp"):
            raise RuntimeError(f"acl.util.ptr_to_bytes({ptr:#x}): not host memory; reading a device pointer on the "
                               f"host crashes the process (copy it with acl.rt.memcpy DEVICE_TO_HOST first)")
        if offset + size > len(block.data):
            raise RuntimeError(f"acl.util.ptr_to_bytes: {size} bytes run past the {len(block.data) - offset} there")
        return bytes(block.data[offset:offset + size])


class _OldUtil:
    """acl.util as CANN releases before 6.0.1 document it: numpy_to_ptr / ptr_to_numpy only (not stood in: the
    app does not call them; it refuses to start without the bytes calls)."""


def _pic_desc_setter(name: str):
    def setter(self, pic_desc: int, value: int) -> int:
        return self._set(pic_desc, name, value)
    setter.__name__ = f"dvpp_set_pic_desc_{name}"
    setter.__doc__ = f"acl.media.dvpp_set_pic_desc_{name}(pic_desc, {name}) -> ret (acldvppSetPicDesc*)"
    return setter


def _add_pic_desc_setters() -> None:
    """acl.media.dvpp_set_pic_desc_<field> for each field of the picture description (data, size, format, width,
    height, width_stride, height_stride)."""
    from dataclasses import fields

    from edgematte.standin.dvpp import PicDesc

    for f in fields(PicDesc):
        setattr(_Media, f"dvpp_set_pic_desc_{f.name}", _pic_desc_setter(f.name))


_add_pic_desc_setters()
rt, mdl, util, media = _Rt(), _Mdl(), _Util(), _Media()
