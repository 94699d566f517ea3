#!/usr/bin/env python3
"""flex-cpu next to PyTorch's CPU SDPA on the same cores (issue 7's side-by-side goal).

Two modes, both driven by xeon_side_by_side.sh:

  torch_sdpa_cpu.py time  --shapes FILE --threads N --json OUT [--warmup 3] [--repeats 10]
      times torch.nn.functional.scaled_dot_product_attention on the CPU for every shape of
      an attnbench case file, with attnbench's convention: warm-up runs, then the median of
      the timed repeats, each timed alone on the host clock.
  torch_sdpa_cpu.py table --threads N --flex FLEX.json --torch TORCH.json [--ceilings FILE]
      prints one markdown table: both times and flex-cpu speed / torch speed.

The case file is read with a small parser of the subset attnbench's shape files use (a
`cases:` list of flat `key: value` maps), as the GPU machine has no PyYAML for certain.
"""
import argparse
import json
import statistics
import sys
import time

# What a case file assumes when a key is absent (core/case.c, attn_case_defaults): note
# causal on, so the decode shape (no `causal` key) is causal, bottom-right aligned (SPEC.md):
# one query row at the end sees every key.
DEFAULTS = {"dtype": "float32", "batch": 1, "q_heads": 4, "kv_heads": 4, "q_len": 64, "kv_len": 64,
            "head_dim": 64, "causal": True}


def scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_shapes(path):
    """The cases of a shape file: a list of dicts, defaults filled in."""
    cases, current = [], None
    with open(path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip() or line.strip() == "cases:":
                continue
            body = line.strip()
            if body.startswith("- "):
                current = dict(DEFAULTS)
                cases.append(current)
                body = body[2:]
            if current is None or ":" not in body:
                raise SystemExit(f"{path}: cannot read line: {raw.rstrip()}")
            key, value = body.split(":", 1)
            current[key.strip()] = scalar(value)
    for c in cases:
        c.setdefault("value_dim", c["head_dim"])  # core/casefile.c: value_dim follows head_dim
    return cases


def work(c):
    """attnbench's counts: FLOP = 2 * visible pairs * Hq * (D + Dv); bytes = Q, O and K/V
    once per kv head (no LSE here)."""
    tq, tk = c["q_len"], c["kv_len"]
    if c["causal"]:  # bottom-right aligned, as SPEC.md: row i sees keys <= i + tk - tq
        pairs = sum(min(tk, i + tk - tq + 1) for i in range(tq))
    else:
        pairs = tq * tk
    b, hq, hkv, d, dv = c["batch"], c["q_heads"], c["kv_heads"], c["head_dim"], c["value_dim"]
    esz = 4 if c["dtype"] == "float32" else 2
    flop = 2.0 * b * pairs * hq * (d + dv)
    nbytes = esz * b * (hq * tq * (d + dv) + hkv * tk * (d + dv))
    return flop, nbytes


def time_torch(args):
    import torch  # only here: the table mode runs without torch

    torch.set_num_threads(args.threads)
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "results": []}
    print(f"torch {info['torch']}, {info['threads']} threads, CPU capability {info['cpu_capability']}", flush=True)
    gen = torch.Generator().manual_seed(0)
    for c in read_shapes(args.shapes):
        row = {"case": c["name"], "dtype": c["dtype"]}
        info["results"].append(row)
        # torch's is_causal is top-left aligned, SPEC.md's bottom-right: the same mask when
        # q_len == kv_len, no mask at all for one query row; anything else is left out rather
        # than timed through an explicit mask (another torch kernel).
        causal = bool(c["causal"]) and c["q_len"] > 1
        if causal and c["q_len"] != c["kv_len"]:
            row.update(status="N/A", reason="causal with 1 < q_len != kv_len: torch aligns the diagonal differently")
            continue
        dt = dtypes[c["dtype"]]
        b, hq, hkv, tq, tk = c["batch"], c["q_heads"], c["kv_heads"], c["q_len"], c["kv_len"]
        q = torch.randn(b, hq, tq, c["head_dim"], generator=gen).to(dt)
        k = torch.randn(b, hkv, tk, c["head_dim"], generator=gen).to(dt)
        v = torch.randn(b, hkv, tk, c["value_dim"], generator=gen).to(dt)
        gqa = hq != hkv

        def call():
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)

        try:
            with torch.inference_mode():
                for _ in range(args.warmup):
                    call()
                ms = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    call()
                    ms.append((time.perf_counter() - t0) * 1e3)
        except Exception as e:  # a shape torch refuses stays a row with its reason
            row.update(status="ERROR", reason=str(e).splitlines()[0][:200])
            continue
        flop, nbytes = work(c)
        med = statistics.median(ms)
        row.update(status="ok", ms_median=med, ms_min=min(ms), ms_max=max(ms), gflops=flop / med / 1e6,
                   gbps=nbytes / med / 1e6)
        print(f"{c['name']:40s} {med:10.3f} ms  {flop / med / 1e6:8.1f} GFLOP/s  {nbytes / med / 1e6:7.2f} GB/s",
              flush=True)
    with open(args.json, "w") as f:
        json.dump(info, f, indent=1)


def load_json(path, key):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"({key}: no results: {e})")
        return {"results": []}


def table(args):
    flex = {r["case"]: r for r in load_json(args.flex, "flex-cpu")["results"]}
    tj = load_json(args.torch, "torch")
    torch_rows = {r["case"]: r for r in tj["results"]}
    print(f"\n### {args.threads} threads" + (f" (torch {tj['torch']}, CPU capability {tj.get('cpu_capability')})"
                                              if "torch" in tj else ""))
    if args.ceilings:
        try:
            with open(args.ceilings) as f:
                ceil = dict(line.split()[:2] for line in f if len(line.split()) >= 2)
            print(f"\nceilings: sgemm 2048^3 {ceil.get('sgemm_2048_gflops', '?')} GFLOP/s, bf16 matmul "
                  f"{ceil.get('bf16gemm_2048_gflops', '?')} GFLOP/s, memcpy "
                  f"{ceil.get('memcpy_512mib_gbps_read_plus_write', '?')} GB/s (read+write), read "
                  f"{ceil.get('read_512mib_gbps', '?')} GB/s")
        except OSError:
            print("\nceilings: not measured")
    print("\n| case | flex-cpu ms | torch SDPA ms | flex-cpu | torch SDPA | flex-cpu speed / torch speed |")
    print("|---|---|---|---|---|---|")
    for name in list(flex) + [n for n in torch_rows if n not in flex]:
        f, t = flex.get(name, {}), torch_rows.get(name, {})
        decode = "decode" in name
        unit = "GB/s" if decode else "GFLOP/s"

        def rate(r, value):  # GB/s for decode, GFLOP/s otherwise, or why there is none
            if r.get("status") != "ok":
                return r.get("status", "-") + (f": {r['reason']}" if r.get("reason") else "")
            return f"{value(r):.1f} {unit}"

        fms = f"{f['ms_median']:.3f}" if f.get("status") == "ok" else f.get("status", "-")
        tms = f"{t['ms_median']:.3f}" if t.get("status") == "ok" else t.get("status", "-")
        ratio = (f"**{t['ms_median'] / f['ms_median']:.2f}x**" if f.get("status") == "ok" and t.get("status") == "ok"
                 else "-")
        frate = rate(f, lambda r: r["gbps"] if decode else r["tflops"] * 1000)  # attnbench: TFLOP/s
        trate = rate(t, lambda r: r["gbps"] if decode else r["gflops"])
        print(f"| {name} | {fms} | {tms} | {frate} | {trate} | {ratio} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("time")
    t.add_argument("--shapes", required=True)
    t.add_argument("--threads", type=int, required=True)
    t.add_argument("--json", required=True)
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--repeats", type=int, default=10)
    s = sub.add_parser("table")
    s.add_argument("--threads", type=int, required=True)
    s.add_argument("--flex", required=True)
    s.add_argument("--torch", required=True)
    s.add_argument("--ceilings")
    args = ap.parse_args()
    if args.mode == "time":
        time_torch(args)
    else:
        table(args)


if __name__ == "__main__":
    sys.exit(main())
