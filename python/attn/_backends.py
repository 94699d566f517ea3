"""Configs and opened backends, cached for the life of the process.

Opening a backend loads its plugin (.so) and creates an instance, so each (config, backend
name) is opened once, on first use, and kept open: a backend that failed to open keeps its
failure too, so a missing GPU is not probed again on every call.  Nothing is closed at exit,
because unloading plugins while their worker threads (oneDNN, CUDA) may still be winding down
is a known source of crashes at interpreter shutdown.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

from . import _errors, _lib
from ._dlpack import device_name

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class BackendInfo:
    """One backend of a config, as attninfo shows it."""

    name: str
    plugin: str  # the config's `plugin:` value, as written
    plugin_path: Optional[str]  # the resolved file; None when an optional plugin was not built
    abi_version: Optional[str]  # "1.2"; None when it did not load
    device: Optional[str]  # "cpu", "cuda:0"; None when it did not load
    describe: Optional[str]  # the plugin's own summary (ABI 1.1 describe()); None when absent
    error: Optional[str]  # why it did not load; None when it did
    status: Optional[str]  # the attn_status of that failure ("ATTN_E_UNAVAILABLE", ...)
    plugin_version: Optional[str] = None  # the plugin's own version text
    description: Optional[str] = None  # the plugin's one-line description

    @property
    def loaded(self) -> bool:
        return self.error is None


class Backend:
    """An opened backend: the attn_backend handle and what the Python side needs of it.

    `lock` is held around every check and run: libattn's threading contract is one thread per
    instance at a time, and ctypes releases the GIL during the call.  `index` is the backend's
    place in its config, the order in which several locks are taken (never a deadlock)."""

    def __init__(self, name: str, handle: int, index: int) -> None:
        lib = _lib.lib()
        self.name = name
        self.index = index
        self.lock = threading.Lock()
        self.handle = ctypes.c_void_p(handle)
        path = lib.attn_backend_plugin_path(self.handle)
        self.plugin_path = path.decode() if path else ""
        version = lib.attn_backend_abi_version(self.handle)
        self.abi_version = f"{version >> 16}.{version & 0xFFFF}"
        err = _lib.AttnError()
        device = _lib.DLDevice()
        status = lib.attn_backend_device(self.handle, ctypes.byref(device), ctypes.byref(err))
        if status != _lib.ATTN_OK:
            _errors.raise_for(status, err)
        self.device: Tuple[int, int] = (device.device_type, device.device_id)
        text = ctypes.create_string_buffer(4096)
        status = lib.attn_backend_describe(self.handle, text, len(text), ctypes.byref(err))
        self.describe: Optional[str] = text.value.decode("utf-8", "replace") if status == _lib.ATTN_OK else None
        head = lib.attn_backend_api(self.handle).contents
        self.plugin_version = (head.version or b"").decode("utf-8", "replace")
        self.description = (head.description or b"").decode("utf-8", "replace")


class Failure:
    """A backend that could not be opened, and why."""

    def __init__(self, name: str, status: str, reason: str) -> None:
        self.name = name
        self.status = status
        self.reason = reason


class Config:
    def __init__(self, path: Optional[str]) -> None:
        lib = _lib.lib()
        err = _lib.AttnError()
        out = ctypes.POINTER(_lib.AttnConfig)()
        if path is None:
            text = lib.attn_default_config_text()
            status = lib.attn_config_parse(text, len(text), b"<embedded default>", None, ctypes.byref(out), ctypes.byref(err))
        else:
            status = lib.attn_config_load(os.fsencode(path), ctypes.byref(out), ctypes.byref(err))
        if status != _lib.ATTN_OK:
            # A malformed config is the caller's argument: ValueError with file, line and key.
            if status == _lib.ATTN_E_CONFIG:
                raise ValueError(f"config: {err.text()}")
            _errors.raise_for(status, err)
        self.path = path
        self.ptr = out  # never freed: the cache lives as long as the process
        config = out.contents
        self.specs = [config.backends[i] for i in range(config.backend_count)]
        self.names = [s.name.decode() for s in self.specs]
        order = (ctypes.c_uint32 * max(1, config.backend_count))()
        count = lib.attn_config_selection_order(out, order, config.backend_count)
        self.selection_order = [self.names[order[i]] for i in range(count)]
        self._opened: Dict[str, Union[Backend, Failure]] = {}
        self._lock = threading.Lock()

    def open(self, name: str) -> Union[Backend, Failure]:
        if name not in self.names:
            where = self.path if self.path else "the embedded default config"
            raise ValueError(f"backend: unknown backend name {name!r}; {where} has: {', '.join(self.names)}")
        with self._lock:
            if name not in self._opened:
                index = self.names.index(name)
                self._opened[name] = self._open(self.specs[index], index)
            return self._opened[name]

    def _open(self, spec: _lib.AttnBackendSpec, index: int) -> Union[Backend, Failure]:
        name = spec.name.decode()
        if not spec.plugin_path:
            why = spec.resolve_error.decode() if spec.resolve_error else "plugin not found"
            return Failure(name, "not built", why)
        lib = _lib.lib()
        err = _lib.AttnError()
        handle = ctypes.c_void_p()
        status = lib.attn_backend_open(
            spec.name, spec.plugin_path, spec.options, spec.option_count, ctypes.byref(handle), ctypes.byref(err)
        )
        if status != _lib.ATTN_OK:
            return Failure(name, _lib.status_name(status), err.text())
        try:
            return Backend(name, handle.value or 0, index)
        except _errors.AttnError as e:  # device_of failed: the backend cannot say where it runs
            lib.attn_backend_close(handle)
            return Failure(name, e.status or "error", str(e))

    def info(self) -> List[BackendInfo]:
        out = []
        for spec, name in zip(self.specs, self.names):
            opened = self.open(name)
            plugin = spec.plugin.decode()
            path = spec.plugin_path.decode() if spec.plugin_path else None
            if isinstance(opened, Failure):
                out.append(BackendInfo(name, plugin, path, None, None, None, opened.reason, opened.status))
            else:
                out.append(
                    BackendInfo(
                        name, plugin, opened.plugin_path or path, opened.abi_version, device_name(opened.device),
                        opened.describe, None, None, opened.plugin_version, opened.description,
                    )
                )
        return out


_configs: Dict[Optional[str], Config] = {}
_configs_lock = threading.Lock()


def config(path: Optional[PathLike]) -> Config:
    """The parsed config at `path` (the embedded default for None), read once per process."""
    key: Optional[str] = None
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"config: expected a path (str or os.PathLike) or None, got {type(path).__name__}")
        key = os.path.realpath(os.fspath(path))
        if not os.path.exists(key):
            raise FileNotFoundError(f"config: file {os.fspath(path)!r} does not exist")
    with _configs_lock:
        if key not in _configs:
            _configs[key] = Config(key)
        return _configs[key]


def backends(config_path: Optional[PathLike] = None) -> List[BackendInfo]:
    """Every backend of the config (the embedded default for None): where its plugin is, its ABI
    version, device and describe() text, or why it did not load."""
    return config(config_path).info()
