"""python_host's glue: the Python half of the plugin, embedded in libattn_python_host.so.

The C half (plugin.c) calls Host(...) once per backend instance and then Host.check / Host.run
with the fields of one attn_problem.  Every answer is a str, "" for OK, else "<status>:<reason>"
with status one of unsupported, n/a, unavailable, invalid, error: no exception ever leaves this
file, so C only turns strings into statuses.  The contract with backend modules is in README.md.
"""
import importlib
import sys
import traceback
import types

_TENSORS = ("q", "k", "v", "o", "lse", "q_len", "kv_len", "doc_q", "doc_k", "prefix_len",
            "alibi_slopes", "synaptic_w")


def format_exception(exc, tb=None):
    """"Type: message (at file:line in function)": the innermost frame is where it was raised."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    # importlib's own frames (<frozen importlib._bootstrap>) say nothing to the module's author.
    frames = [f for f in traceback.extract_tb(tb if tb is not None else exc.__traceback__)
              if not f.filename.startswith("<frozen")]
    if frames:
        last = frames[-1]
        text += f" (at {last.filename}:{last.lineno} in {last.name})"
    return text


class Tensor:
    """One tensor of the problem, borrowed from the host for the duration of the call: hand it to
    numpy.from_dlpack or torch.from_dlpack for a zero-copy view, and keep no view after the call
    returns.  Inputs are read-only (DLPack >= 1.0 consumers see the flag); o and lse are written.

    shape, strides (in elements), dtype ("float32", "float16", "bfloat16", "int32"), writable,
    device ("cpu")."""

    __slots__ = ("_export", "_as_uint", "shape", "strides", "dtype", "writable", "device")

    def __init__(self, export, shape, strides, dtype, writable, as_uint=False):
        self._export = export
        self._as_uint = as_uint
        self.shape = tuple(shape)
        self.strides = tuple(strides)
        self.dtype = dtype
        self.writable = bool(writable)
        self.device = "cpu"

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if dl_device is not None and tuple(dl_device)[:1] != (1,):
            raise BufferError(f"this tensor lives on the CPU, not on DLPack device {tuple(dl_device)}")
        if copy:
            raise BufferError("python_host hands out views; copy=True is not offered")
        versioned = max_version is not None and tuple(max_version)[0] >= 1
        return self._export((1 if versioned else 0) + (2 if self._as_uint else 0))

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU

    def as_uint(self):
        """The same memory as unsigned integers of the element's width (uint16 for bfloat16 and
        float16, uint32 for float32): numpy has no bfloat16, so a numpy backend reads and writes
        bfloat16 through its bits."""
        return Tensor(self._export, self.shape, self.strides, self.dtype, self.writable, True)

    def __repr__(self):
        return f"<attn tensor {self.dtype}{list(self.shape)} strides {list(self.strides)}>"


def _problem(fields):
    ns = dict(fields)
    for name in _TENSORS:
        spec = ns.get(name)
        ns[name] = Tensor(**spec) if spec is not None else None
    return types.SimpleNamespace(**ns)


def _described(value):
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


class Host:
    """One backend instance: the module's create(options) and the object it made."""

    def __init__(self, module_name, path, options):
        self.error = ""
        self.backend = None
        self.module_name = module_name
        try:
            if path and path not in sys.path:
                sys.path.insert(0, path)
            module = importlib.import_module(module_name)
        except ImportError as e:
            # The module itself not found: where importlib noticed says nothing.  A dependency
            # it imports (torch) not found: the module's import line does.
            missing_itself = isinstance(e, ModuleNotFoundError) and e.name == module_name
            text = f"{type(e).__name__}: {e}" if missing_itself else format_exception(e)
            self.error = "unavailable:cannot import " + module_name + ": " + text
            return
        except BaseException as e:  # a SyntaxError, or the module's own code raising (SystemExit too)
            self.error = "unavailable:importing " + module_name + " raised " + format_exception(e)
            return
        self.origin = getattr(module, "__file__", None) or module_name
        create = getattr(module, "create", None)
        if not callable(create):
            self.error = f"unavailable:{module_name} ({self.origin}) defines no create(options)"
            return
        try:
            backend = create(dict(options))
        except ValueError as e:  # a bad option: a config error, like every plugin's unknown key
            self.error = f"invalid:{module_name}.create() refused its options: " + format_exception(e)
            return
        except BaseException as e:
            self.error = f"unavailable:{module_name}.create() raised " + format_exception(e)
            return
        missing = [m for m in ("device", "check", "run") if not callable(getattr(backend, m, None))]
        if missing:
            self.error = (f"unavailable:{module_name}.create() returned {_described(backend)}, which has no "
                          + ", ".join(m + "()" for m in missing))
            return
        try:
            device = backend.device()
        except BaseException as e:
            self.error = f"unavailable:{module_name}: device() raised " + format_exception(e)
            return
        if device != "cpu":
            self.error = (f"unavailable:{module_name}: device() returned {_described(device)}; python_host "
                          "runs CPU backends only so far (\"cpu\")")
            return
        self.backend = backend

    def _check(self, problem):
        try:
            answer = self.backend.check(problem)
        except BaseException as e:
            return "error:check() raised " + format_exception(e)
        if answer is None:
            return ""
        if isinstance(answer, str):
            if answer.startswith("n/a:"):
                return "n/a:" + (answer[4:].strip() or "(no reason given)")
            return "unsupported:" + (answer.strip() or "(no reason given)")
        return f"error:check() returned {_described(answer)}; expected None or a str (the refusal reason)"

    def check(self, fields):
        return self._check(_problem(fields))

    def run(self, fields):
        problem = _problem(fields)
        refusal = self._check(problem)  # run refuses exactly what check refuses
        if refusal:
            return refusal
        try:
            answer = self.backend.run(problem)
        except BaseException as e:
            return "error:run() raised " + format_exception(e)
        if answer is not None:
            return (f"error:run() returned {_described(answer)}; expected None (it writes problem.o "
                    "in place)")
        return ""

    def describe(self):
        describe = getattr(self.backend, "describe", None)
        if callable(describe):
            try:
                return str(describe())
            except BaseException as e:
                return "describe() raised " + format_exception(e)
        return f"Python module {self.module_name} ({self.origin})"
