#!/usr/bin/env python3
"""Same-run anchors for flex-cuda (docs/PERF.md): PyTorch SDPA (flash and cuDNN back ends),
torch.compile'd FlexAttention and flex-cuda itself, on the shapes of attnbench's presets, in
one process on one GPU, all timed the same way (triton.testing.do_bench: CUDA events around
each call, L2 flushed before each, median).

flex-cuda is called through its C entry point with ctypes on the same torch tensors and the
current torch stream, so its number carries no copy and no synchronisation: the same terms
as the torch numbers.  attnbench (host clock around run + synchronize) is reported apart.

Each flex-cuda result is also compared with SDPA's on the same inputs (max |diff|), a check
of the large shapes that the small matrix instances do not reach.

FlexAttention's decode (found 2026-11-25; see flex_block_mask below): compiled
flex_attention takes its split-KV decoding kernel (torch/_inductor/kernel/flex/flex_decoding.py)
for Tq < 128 with a power-of-two GQA ratio and a block mask of one head, but it splits the keys
by the block mask.  Called with block_mask=None, it gets the default mask: ONE sparse block of
2^30 keys and no "full" blocks, so TILE_KV = cdiv(1 * 2^30, SPLIT_KV) covers every key and
split 0 does all the work: one CTA per (batch, kv head), 64 CTAs at B8 Hkv8 (856 GB/s
measured) and 8 at B1 Hkv8 Tk131072 (125 GB/s).  MHA B8 H32 (256 CTAs, SPLIT_KV = 1) was
unaffected (2624 vs the anchor's 2630).  The split by mask blocks seems to come from PyTorch
PR 167935 (late 2025, "avoid unbalanced splitting", for vLLM's masks, which carry no full
blocks); older templates split every call as cdiv(KV_LEN, SPLIT_KV).  How the earlier
anchors were called is not recorded; they match a split call.  Users who decode with a KV
cache pass a BlockMask
(create_block_mask, 128-key blocks); with it the keys split as cdiv(Tk, SPLIT_KV), with
SPLIT_KV = 2 * SMs // (B * Hkv): 4 splits at 8k, 32 at 128k (132 SMs).  So the script now
builds a BlockMask for every causal shape, Tq = 1 included, once per shape outside the timed
call.  At Tq = 1 the bottom-right causal mask hides no key, so the result is the same; the
one query row is padded to a 128-row block, so its key blocks count as partial and pay one
mask compare per score, nothing next to the K/V bytes.  --flex-decode-no-mask restores the
old call (block_mask=None at Tq = 1).

Score modifiers (MODIFIED): softcap (c = 30, Gemma 2's) and ALiBi (slopes 2^(-8 (h + 1) / H)) as
FlexAttention score_mods; SDPA has neither (its cells are n/a), so flex-cuda is compared with
Flex's output instead (max |diff| vs Flex).

usage: torch_anchor.py PLUGIN.so [--json OUT.json] [--only prefill|decode|mods] [--no-flex] [--flex-decode-no-mask]
"""
import argparse
import ctypes as C
import json
import logging
import math
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# (label, B, Hq, Hkv, Tq, Tk, D, causal): attnbench's presets (tools/attnbench/presets.c).
PREFILL = [
    ("prefill T1024 D64 causal", 16, 32, 32, 1024, 1024, 64, 1),
    ("prefill T1024 D64 bidir", 16, 32, 32, 1024, 1024, 64, 0),
    ("prefill T1024 D128 causal", 16, 16, 16, 1024, 1024, 128, 1),
    ("prefill T1024 D128 bidir", 16, 16, 16, 1024, 1024, 128, 0),
    ("prefill T4096 D64 causal", 4, 32, 32, 4096, 4096, 64, 1),
    ("prefill T4096 D64 bidir", 4, 32, 32, 4096, 4096, 64, 0),
    ("prefill T4096 D128 causal", 4, 16, 16, 4096, 4096, 128, 1),
    ("prefill T4096 D128 bidir", 4, 16, 16, 4096, 4096, 128, 0),
    ("prefill T16384 D64 causal", 1, 32, 32, 16384, 16384, 64, 1),
    ("prefill T16384 D64 bidir", 1, 32, 32, 16384, 16384, 64, 0),
    ("prefill T16384 D128 causal", 1, 16, 16, 16384, 16384, 128, 1),
    ("prefill T16384 D128 bidir", 1, 16, 16, 16384, 16384, 128, 0),
    ("prefill GQA 16/4 T4096 D128 causal", 4, 16, 4, 4096, 4096, 128, 1),
]
# (label, B, Hq, Hkv, Tq, Tk, D, causal, modifier): prefill with a score modifier.
MODIFIED = [
    ("softcap T4096 D64 causal", 4, 32, 32, 4096, 4096, 64, 1, "softcap"),
    ("softcap T4096 D128 causal", 4, 16, 16, 4096, 4096, 128, 1, "softcap"),
    ("alibi T4096 D128 causal", 4, 16, 16, 4096, 4096, 128, 1, "alibi"),
]
SOFTCAP = 30.0
ATTN_MOD = {None: 0, "softcap": 1, "alibi": 2}
DECODE = [
    ("decode GQA 32/8 Tk8192", 8, 32, 8, 1, 8192, 128, 1),
    ("decode MHA 32/32 Tk8192", 8, 32, 32, 1, 8192, 128, 1),
    ("decode GQA 32/8 Tk131072", 1, 32, 8, 1, 131072, 128, 1),
    ("chunk decode 32/8 Tq128 Tk8192", 8, 32, 8, 128, 8192, 128, 1),
]


# ---- the plugin ABI, as include/attn/*.h lay it out ----------------------------------------
class DLDevice(C.Structure):
    _fields_ = [("device_type", C.c_int32), ("device_id", C.c_int32)]


class DLDataType(C.Structure):
    _fields_ = [("code", C.c_uint8), ("bits", C.c_uint8), ("lanes", C.c_uint16)]


class DLTensor(C.Structure):
    _fields_ = [("data", C.c_void_p), ("device", DLDevice), ("ndim", C.c_int32), ("dtype", DLDataType),
                ("shape", C.POINTER(C.c_int64)), ("strides", C.POINTER(C.c_int64)), ("byte_offset", C.c_uint64)]


class Problem(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("reserved0", C.c_uint32),
                ("q", DLTensor), ("k", DLTensor), ("v", DLTensor), ("o", DLTensor), ("lse", DLTensor),
                ("q_len", DLTensor), ("kv_len", DLTensor), ("doc_q", DLTensor), ("doc_k", DLTensor),
                ("prefix_len", DLTensor),
                ("causal", C.c_int32), ("window_left", C.c_int32), ("window_right", C.c_int32),
                ("modifier", C.c_int32), ("softcap", C.c_float), ("synaptic_lambda", C.c_float),
                ("synaptic_eps", C.c_float), ("synaptic_beta", C.c_float),
                ("alibi_slopes", DLTensor), ("synaptic_w", DLTensor),
                ("scale", C.c_double), ("dropout_p", C.c_float), ("dropout_offset", C.c_uint32),
                ("dropout_seed", C.c_uint64), ("stream", C.c_uint64)]


MSG = 512
STATUS = C.c_int32
CREATE = C.CFUNCTYPE(STATUS, C.c_void_p, C.c_void_p, C.c_uint32, C.POINTER(C.c_void_p), C.c_char_p, C.c_uint32)
RUN = C.CFUNCTYPE(STATUS, C.c_void_p, C.POINTER(Problem), C.c_char_p, C.c_uint32)


class Api(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("abi_version", C.c_uint32), ("name", C.c_char_p),
                ("version", C.c_char_p), ("description", C.c_char_p), ("create", CREATE),
                ("destroy", C.c_void_p), ("device_of", C.c_void_p), ("check", RUN), ("run", RUN)]


class FlexCuda:
    def __init__(self, path):
        self.lib = C.CDLL(path)
        query = self.lib.attn_plugin_query
        query.restype = STATUS
        query.argtypes = [C.c_uint32, C.c_void_p, C.POINTER(C.POINTER(Api)), C.c_char_p, C.c_uint32]
        api = C.POINTER(Api)()
        msg = C.create_string_buffer(MSG)
        if query((1 << 16) | 1, None, C.byref(api), msg, MSG):
            raise RuntimeError(msg.value.decode())
        self.api = api.contents
        self.backend = C.c_void_p()
        if self.api.create(None, None, 0, C.byref(self.backend), msg, MSG):
            raise RuntimeError(msg.value.decode())
        self.msg = msg
        self.keep = []

    def _tensor(self, t):
        shape = (C.c_int64 * t.dim())(*t.shape)
        strides = (C.c_int64 * t.dim())(*t.stride())
        self.keep += [shape, strides]
        code = {torch.bfloat16: 4, torch.float16: 2, torch.float32: 2}[t.dtype]  # kDLBfloat, kDLFloat
        return DLTensor(t.data_ptr(), DLDevice(2, t.device.index or 0), t.dim(),
                        DLDataType(code, t.element_size() * 8, 1), shape, strides, 0)

    def problem(self, q, k, v, o, causal, modifier=None, slopes=None):
        p = Problem()
        p.struct_size = C.sizeof(Problem)
        p.q, p.k, p.v, p.o = (self._tensor(t) for t in (q, k, v, o))
        p.causal = causal
        p.window_left = p.window_right = -1
        p.modifier = ATTN_MOD[modifier]
        p.softcap = SOFTCAP
        if modifier == "alibi":
            p.alibi_slopes = self._tensor(slopes)
        p.stream = torch.cuda.current_stream().cuda_stream
        return p

    def runner(self, p):
        ref = C.byref(p)
        run, backend, msg = self.api.run, self.backend, self.msg

        def call():
            if run(backend, ref, msg, MSG):
                raise RuntimeError(msg.value.decode())
        return call


class FlexPathLog(logging.Handler):
    """Inductor's choice between the decoding kernel and the main flex_attention kernel: its
    _use_flex_decoding logs "Use flex decoding True|False, ..." at DEBUG when it lowers a call
    (torch/_inductor/kernel/flex/flex_decoding.py).  A compile served from a cache lowers
    nothing, so no line is not a "False"."""

    NAMES = ("torch._inductor.kernel.flex.flex_decoding", "torch._inductor.kernel.flex_decoding")

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen = []
        for name in self.NAMES:
            lg = logging.getLogger(name)
            lg.setLevel(logging.DEBUG)
            lg.addHandler(self)

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("Use flex decoding"):
            self.seen.append("flex_decoding" if msg.split(",")[0].split()[-1] == "True" else "flex_attention")

    def since(self, start):
        return "/".join(self.seen[start:]) or "not logged (cached compile?)"


def flex_block_mask(create_block_mask, causal, tq, tk, no_decode_mask):
    """The BlockMask of a shape, built once, outside the timed call, as users build it.
    B = H = None: one mask for every batch and head, the shape the GQA decoding kernel
    requires.  Bottom-right causal (SPEC.md); at Tq = 1 it hides nothing, and its only effect
    is to give the decoding kernel 128-key blocks to split (see the module docstring).
    Bidirectional shapes keep block_mask=None, as the anchors were measured.  The label says
    how many partial and full key blocks the last query block visits."""
    if not causal or (tq == 1 and no_decode_mask):
        return None, "none (one default block of 2^30 keys)"
    off = tk - tq
    mask = create_block_mask(lambda bb, hh, qi, ki: ki <= qi + off, None, None, tq, tk, device="cuda")
    partial = int(mask.kv_num_blocks[0, 0, -1])
    full = int(mask.full_kv_num_blocks[0, 0, -1]) if mask.full_kv_num_blocks is not None else 0
    return mask, f"create_block_mask {mask.BLOCK_SIZE[0]}x{mask.BLOCK_SIZE[1]}: {partial} partial + {full} full key blocks"


def flex_score_mod(modifier, slopes, off):
    """SPEC.md's modifiers as FlexAttention score_mods (score arrives scaled, as SPEC's s)."""
    if modifier == "softcap":
        return lambda score, b, h, qi, ki: SOFTCAP * torch.tanh(score / SOFTCAP)
    if modifier == "alibi":
        return lambda score, b, h, qi, ki: score - slopes[h] * torch.abs(qi + off - ki)
    return None


def work(b, hq, hkv, tq, tk, d, causal):
    pairs = b * sum(min(tk, tk - tq + i + 1) for i in range(tq)) if causal else b * tq * tk
    flops = 2.0 * pairs * hq * (2 * d)
    nbytes = 2.0 * (b * hq * tq * d * 2 + b * hkv * tk * 2 * d)
    return flops, nbytes


def bench(fn):
    from triton.testing import do_bench
    fn()
    torch.cuda.synchronize()
    return do_bench(fn, warmup=25, rep=100, return_mode="median")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plugin")
    ap.add_argument("--json")
    ap.add_argument("--only")
    ap.add_argument("--no-flex", action="store_true", help="skip torch FlexAttention (its compiles are slow)")
    ap.add_argument("--flex-decode-no-mask", action="store_true",
                    help="the earlier Flex decode call, block_mask=None at Tq = 1 (its keys are not split: see above)")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    # A stream of our own: the legacy default stream's handle is 0, which attn_problem reads as
    # "the backend's own stream", and then torch's events would not see flex-cuda's work.
    torch.cuda.set_stream(torch.cuda.Stream())
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}, bf16, medians (ms) of do_bench", flush=True)
    fc = FlexCuda(args.plugin)
    flex_compiled = None
    if not args.no_flex:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        # One static compile per shape: past dynamo's recompile limit (8 by default) the call
        # silently falls back to eager FlexAttention, which is 30x slower (seen 2026-11-25).
        torch._dynamo.config.recompile_limit = 64
        torch._dynamo.config.cache_size_limit = 64
        flex_compiled = torch.compile(flex_attention, dynamic=False)
        flex_path = FlexPathLog()

    only = args.only
    shapes = ([s + (None,) for s in PREFILL] if only in (None, "prefill") else []) + \
        ([s + (None,) for s in DECODE] if only in (None, "decode") else []) + (MODIFIED if only in (None, "mods") else [])
    results = []
    for (label, b, hq, hkv, tq, tk, d, causal, modifier) in shapes:
        q = torch.randn(b, hq, tq, d, device=dev, dtype=torch.bfloat16)
        k = torch.randn(b, hkv, tk, d, device=dev, dtype=torch.bfloat16)
        v = torch.randn(b, hkv, tk, d, device=dev, dtype=torch.bfloat16)
        o = torch.empty(b, hq, tq, d, device=dev, dtype=torch.bfloat16)
        slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / hq) for h in range(hq)], device=dev, dtype=torch.float32)
        flops, nbytes = work(b, hq, hkv, tq, tk, d, causal)
        row = {"case": label, "flops": flops, "bytes": nbytes}
        gqa = hq != hkv
        # bottom-right causal (SPEC.md); for Tq == 1 every key is visible
        sdpa_kwargs = {}
        if causal and tq == tk:
            sdpa_kwargs["is_causal"] = True
        elif causal and tq > 1:
            from torch.nn.attention.bias import causal_lower_right
            sdpa_kwargs["attn_mask"] = causal_lower_right(tq, tk)
        ref = None
        for name, backend in (("sdpa_flash", SDPBackend.FLASH_ATTENTION), ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
            if modifier:  # SDPA has no score modifier
                row[name] = None
                continue
            try:
                def fn(backend=backend):
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(q, k, v, enable_gqa=gqa, **sdpa_kwargs)
                out = fn()
                if ref is None:
                    ref = out
                row[name] = bench(fn)
            except Exception as e:  # a back end that refuses the shape is a row entry, not a crash
                row[name] = None
                row[name + "_error"] = str(e).splitlines()[0][:160]
        if flex_compiled is not None:
            try:
                mask, row["flex_mask"] = flex_block_mask(create_block_mask, causal, tq, tk, args.flex_decode_no_mask)
                score_mod = flex_score_mod(modifier, slopes, tk - tq)
                fn = lambda: flex_compiled(q, k, v, score_mod=score_mod, block_mask=mask, enable_gqa=gqa)
                start = len(flex_path.seen)
                out = fn()  # compiles: the lowering logs its kernel choice here
                row["flex_path"] = flex_path.since(start)
                if ref is None:
                    ref = out
                row["flex"] = bench(fn)
            except Exception as e:
                row["flex"] = None
                row["flex_error"] = str(e).splitlines()[0][:160]
        try:
            p = fc.problem(q, k, v, o, causal, modifier, slopes)
            fn = fc.runner(p)
            fn()
            torch.cuda.synchronize()
            if ref is not None:
                row["flex_cuda_maxdiff"] = (o.float() - ref.float()).abs().max().item()
            row["flex_cuda"] = bench(fn)
        except Exception as e:
            row["flex_cuda"] = None
            row["flex_cuda_error"] = str(e)[:200]
        results.append(row)
        print(json.dumps(row), flush=True)
        del q, k, v, o, ref
        torch.cuda.empty_cache()

    # the table: TFLOP/s for prefill, GB/s for decode, ratios flex-cuda / X
    print("\n| case | flex-cuda | SDPA flash | SDPA cuDNN | Flex (compiled) | vs flash | vs cuDNN | vs Flex | max|diff| vs SDPA (modifiers: vs Flex) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        decode = r["case"].startswith("decode")
        unit = (lambda ms: r["bytes"] / (ms * 1e-3) * 1e-9) if decode else (lambda ms: r["flops"] / (ms * 1e-3) * 1e-12)
        cell = lambda key: f"{unit(r[key]):.0f}" if r.get(key) else "n/a"
        ratio = lambda key: f"{r[key] / r['flex_cuda']:.2f}x" if r.get(key) and r.get("flex_cuda") else "n/a"
        diff = r.get("flex_cuda_maxdiff")
        print(f"| {r['case']} ({'GB/s' if decode else 'TFLOP/s'}) | {cell('flex_cuda')} | {cell('sdpa_flash')} | "
              f"{cell('sdpa_cudnn')} | {cell('flex')} | {ratio('sdpa_flash')} | {ratio('sdpa_cudnn')} | {ratio('flex')} | "
              f"{diff if diff is not None else 'n/a'} |")
    flex_rows = [r for r in results if r.get("flex_path")]
    if flex_rows:
        print("\nFlex kernel per case (inductor's choice; block mask given):")
        for r in flex_rows:
            print(f"- {r['case']}: {r['flex_path']}; block mask {r['flex_mask']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
