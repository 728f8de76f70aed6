#!/usr/bin/env python3
"""make_corpus.py: writes the seed corpus of tests/fuzz/fuzz_api.c into tests/fuzz/corpus/.

Each seed is the descriptor bytes of one call, in the order fuzz_api.c's decode_case()
reads them (the encoder below mirrors it field by field); the data (tensor values,
scales, zero points) then comes from the harness's generator, seeded by the input.
Seeds are meant to be *valid* calls (one per op, dtype, granularity and output stage),
plus a few that must be refused; the fuzzer mutates from there.

    python3 tests/fuzz/make_corpus.py [--check build-fuzz/tests/fuzz_api]

With --check, each valid seed's salt byte (byte 2, ignored by the harness unless 255)
is chosen so that the call succeeds on the CPU backend (the generator may otherwise
draw, say, a negative scale), and every seed's status is printed. Keep the layout of
decode_case() and this file in step: a change to one is a change to the other.
"""
import argparse
import os
import subprocess
import sys

OPS = ["quantize", "dequantize", "minmax", "qparams", "dynamic", "quantize_rowsums",
       "dynamic_rowsums", "pack", "gemm"]
FLOATS = ["f32", "f16", "bf16"]
QUANTS = ["u8", "s8", "s4", "u4"]
Q8 = ["u8", "s8"]
COUT = ["s32", "f32", "s8", "u8"]
NARROW, RECIPROCAL, TRUSTED = 1, 2, 4
PER_TENSOR, PER_AXIS, PER_BLOCK = 0, 1, 2
RELU, FIXED = 1, 2


class Enc:
    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b.append(v & 255)

    # ---- fields, as fuzz_api.c decodes them
    def dtype(self, name, table):
        self.u8(table.index(name))                     # pick_dtype: b < 240 -> table[b % n]

    def ndim(self, nd):                                # pick_ndim
        self.u8(nd - 1 if 1 <= nd <= 4 else 200 if nd == 0 else 225 + nd - 5)

    def dim(self, d):                                  # pick_dim: (b + 3) % 13, 13 + (b - 200)
        assert 0 <= d <= 52
        self.u8((d - 3) % 13 if d <= 12 else 200 + d - 13)

    def layout(self, strides=None, extra_offset=0, slack=8, wrap=False):
        """strides: None (row-major) or per dim one of 'row', 'rev', 'zero', 'gap', int (-39..39)."""
        if strides is None:
            self.u8(0)
        else:
            self.u8(128)
            for s in strides:
                if s == "row": self.u8(0)
                elif s == "rev": self.u8(150)
                elif s == "zero": self.u8(190)
                elif s == "gap": self.u8(210)
                else: self.u8(100); self.u8(s & 255)    # (int8) b % 40
        self.u8(0 if extra_offset == 0 else 160 + extra_offset)   # offset: just enough (+ extra)
        self.u8(slack + 6)                             # buffer bytes: the view's + slack
        self.u8(3 if wrap else 0)                      # clq_buffer_wrap_host

    def tensor(self, dtype, table, shape, **lay):
        self.dtype(dtype, table)
        self.ndim(len(shape))
        for d in shape: self.dim(d)
        self.layout(**lay)

    def like(self, dtype=None, table=None, **lay):     # decode_like: same shape as x
        if dtype is None: self.u8(0)                   # the preferred dtype
        else: self.u8(200); self.dtype(dtype, table)
        self.u8(0)                                     # shape unchanged
        self.layout(**lay)

    def qp(self, gran=PER_TENSOR, axis=0, block=0, scheme=0, rounding=0, flags=0, qtype=None):
        if qtype is None: self.u8(0)                   # qtype: the preferred one
        else: self.u8(200); self.dtype(qtype, QUANTS)
        self.u8(gran); self.u8(axis); self.u8(block); self.u8(scheme); self.u8(rounding)
        self.u8(flags); self.u8(0)                     # struct_size from clq_qparams_init

    def array(self, offset=0, slack=8, wrap=False, null=False):
        if null: self.u8(245); return
        self.u8(offset); self.u8(slack + 4); self.u8(3 if wrap else 0)


def header(e, op, salt=0, fill=1, param=0, share=(0, 0, 0), null=0):
    e.u8(OPS.index(op)); e.u8(0); e.u8(salt); e.u8(fill); e.u8(param)
    for v in share: e.u8(v)
    e.u8(null)


def elementwise(op, x, xtype, qtype, y=None, gran=PER_TENSOR, axis=0, block=0, scheme=0,
                rounding=0, flags=0, xlay=None, ylay=None, zp_null=False, rs=True, **hdr):
    """quantize / dequantize / dynamic / *_rowsums."""
    e = Enc()
    header(e, op, **hdr)
    deq = op == "dequantize"
    e.tensor(xtype, QUANTS if deq else FLOATS, x, **(xlay or {}))
    if not deq:
        e.u8((Q8 if "rowsums" in op else QUANTS).index(qtype))
    e.qp(gran, axis, block, scheme, rounding, flags)
    e.like(**(ylay or {}))
    e.array()                                          # scale
    e.array(null=zp_null, offset=1)                    # zero point
    if "rowsums" in op:
        e.array(offset=2)
    return e.b


def minmax(x, xtype, gran=PER_TENSOR, axis=0, block=0, xlay=None, share_max=None, fill=1, **hdr):
    e = Enc()
    header(e, "minmax", fill=fill, **hdr)
    e.tensor(xtype, FLOATS, x, **(xlay or {}))
    e.qp(gran, axis, block)
    e.array()                                          # min_out
    if share_max is None:
        e.u8(0); e.array(offset=3)                     # max_out in its own buffer
    else:
        e.u8(share_max)                                # 200: after min_out; 240+: overlapping
    return e.b


def qparams(count, qtype, scheme=0, flags=0, zp_null=False, **hdr):
    e = Enc()
    header(e, "qparams", **hdr)
    e.u8(QUANTS.index(qtype))
    e.qp(scheme=scheme, flags=flags)
    e.u8(count)
    e.array(); e.array(offset=1)                       # min_in, max_in
    e.array(offset=2); e.array(offset=3, null=zp_null) # scale, zero point
    return e.b


def gemm(n, k, btype="s8", transposed=False, bgran=PER_TENSOR, blay=None, bzp_null=False,
         bscale_null=False, atype="u8", batch=(), m=4, alay=None, ctype="s32", clay=None,
         options=True, gflags=0, bias=False, cflags=0, per_channel=False, rowsums=None,
         pack_only=False, aflags=0, **hdr):
    e = Enc()
    header(e, "pack" if pack_only else "gemm", **hdr)
    e.dtype(btype, Q8)
    e.u8(0)                                            # b is 2-D
    e.dim(min(n, 52)); e.dim(min(k, 52) if k <= 52 else 52)
    if k > 52: raise ValueError("k <= 52 in seeds")
    e.u8(1 if transposed else 0)                       # pack flags
    e.layout(**(blay or {}))
    e.qp()                                             # b's qparams (granularity set below)
    e.u8(1 | (2 if transposed else 0) if bgran == PER_AXIS else 0)
    e.array(null=bscale_null); e.array(offset=1, null=bzp_null)
    if pack_only:
        return e.b
    e.dtype(atype, Q8)
    e.u8({0: 0, 1: 180, 2: 220}[len(batch)])           # A's ndim: 2 + len(batch)
    for d in batch: e.u8(d)
    e.dim(m)
    e.u8(0)                                            # A's K = the weights' K
    e.layout(**(alay or {}))
    e.qp(flags=aflags)
    e.u8(0)                                            # a_qp per tensor
    e.array(offset=2); e.array(offset=3)               # a's scale, zero point
    e.dtype(ctype, COUT)
    e.u8(0)                                            # C's N = the weights' N
    e.layout(**(clay or {}))
    e.u8(0 if options else 250)
    e.u8(gflags)
    e.u8(0)                                            # stage arguments follow C's dtype
    if ctype == "f32":
        e.u8(1 if bias else 0)
        if bias: e.array(offset=1)
    if ctype in ("s8", "u8"):
        e.qp(flags=cflags)
        e.u8(0)
        e.array(); e.array(offset=1)                   # c's scale, zero point
        e.u8(1 if per_channel else 0)
        if not gflags & FIXED: e.u8(0)
        else: e.array(); e.array(offset=2)             # multiplier, shift
    if rowsums is None: e.u8(0)
    else: e.u8(160 if rowsums == "correct" else 240); e.array(offset=1)
    return e.b


def seeds():
    S = {}
    # quantize: every float input, every qtype and granularity, strides, flags
    S["quantize_f32_u8_tensor"] = elementwise("quantize", [4, 5], "f32", "u8")
    S["quantize_f16_s8_axis_recip"] = elementwise("quantize", [3, 7], "f16", "s8", gran=PER_AXIS,
                                                  axis=1, flags=RECIPROCAL)
    S["quantize_bf16_s4_block_narrow"] = elementwise("quantize", [2, 3, 8], "bf16", "s4",
                                                     gran=PER_BLOCK, axis=255, block=3, flags=NARROW,
                                                     zp_null=True, scheme=1)
    S["quantize_f32_u4_away_odd"] = elementwise("quantize", [7], "f32", "u4", rounding=1)
    S["quantize_f32_u8_strided"] = elementwise("quantize", [5, 6], "f32", "u8", gran=PER_AXIS,
                                               axis=0, xlay=dict(strides=["rev", "gap"]),
                                               ylay=dict(strides=["gap", 3], extra_offset=2))
    S["quantize_f32_s8_broadcast"] = elementwise("quantize", [4, 9], "f32", "s8",
                                                 xlay=dict(strides=["zero", "row"]), zp_null=True,
                                                 scheme=1)
    S["quantize_scalar"] = elementwise("quantize", [], "f32", "u8")
    S["quantize_empty"] = elementwise("quantize", [0, 4], "f32", "u8")
    S["quantize_trusted_wrapped"] = elementwise("quantize", [3, 3, 3], "f16", "u8", flags=TRUSTED,
                                                xlay=dict(wrap=True), ylay=dict(wrap=True))
    S["quantize_y_after_x"] = elementwise("quantize", [6, 6], "f32", "u8", share=(200, 9, 0))
    S["quantize_bad_params"] = elementwise("quantize", [4, 4], "f32", "s8", param=3)
    S["quantize_specials"] = elementwise("quantize", [8, 8], "f32", "u8", fill=2)
    # dequantize
    S["dequantize_u8_tensor"] = elementwise("dequantize", [4, 5], "u8", None)
    S["dequantize_s8_axis_strided"] = elementwise("dequantize", [6, 5], "s8", None, gran=PER_AXIS,
                                                  axis=255, ylay=dict(strides=["gap", "rev"]))
    S["dequantize_s4_block"] = elementwise("dequantize", [4, 10], "s4", None, gran=PER_BLOCK,
                                           axis=1, block=4)
    S["dequantize_u4_odd"] = elementwise("dequantize", [3, 3], "u4", None)
    # min/max
    S["minmax_f32_tensor"] = minmax([6, 7], "f32")
    S["minmax_f16_axis"] = minmax([5, 4, 3], "f16", gran=PER_AXIS, axis=1)
    S["minmax_bf16_block"] = minmax([9, 5], "bf16", gran=PER_BLOCK, axis=0, block=4)
    S["minmax_shared_buffer"] = minmax([4, 4], "f32", gran=PER_AXIS, axis=0, share_max=200)
    S["minmax_overlap_refused"] = minmax([4, 4], "f32", gran=PER_AXIS, axis=0, share_max=241)
    S["minmax_specials"] = minmax([3, 11], "f32", gran=PER_AXIS, axis=1, fill=2)
    S["minmax_strided"] = minmax([5, 5], "f32", xlay=dict(strides=[7, -2]))
    # qparams from min/max
    S["qparams_u8_affine"] = qparams(1, "u8")
    S["qparams_s8_symmetric_narrow"] = qparams(8, "s8", scheme=1, flags=NARROW, zp_null=True)
    S["qparams_u4_symmetric"] = qparams(5, "u4", scheme=1)
    S["qparams_s4_affine"] = qparams(17, "s4")
    S["qparams_empty"] = qparams(0, "u8")
    # dynamic
    S["dynamic_u8_onnx"] = elementwise("dynamic", [6, 10], "f32", "u8")
    S["dynamic_s8_symmetric_axis"] = elementwise("dynamic", [4, 6], "f16", "s8", gran=PER_AXIS,
                                                 axis=0, scheme=1, zp_null=True)
    S["dynamic_s4_block"] = elementwise("dynamic", [3, 12], "bf16", "s4", gran=PER_BLOCK, axis=1,
                                        block=5)
    S["dynamic_u8_strided"] = elementwise("dynamic", [5, 7], "f32", "u8",
                                          xlay=dict(strides=["rev", "row"]),
                                          ylay=dict(strides=["gap", "row"]))
    S["dynamic_scale_over_x_refused"] = elementwise("dynamic", [4, 4], "f32", "u8",
                                                    share=(220, 6, 0))
    # row sums
    S["quantize_rowsums_u8"] = elementwise("quantize_rowsums", [4, 16], "f32", "u8")
    S["quantize_rowsums_s8_strided"] = elementwise("quantize_rowsums", [2, 3, 8], "f16", "s8",
                                                   ylay=dict(strides=["row", "gap", "row"]))
    S["dynamic_rowsums_u8"] = elementwise("dynamic_rowsums", [3, 10], "f32", "u8")
    S["dynamic_rowsums_s8_axis"] = elementwise("dynamic_rowsums", [5, 9], "f32", "s8",
                                               gran=PER_AXIS, axis=1, scheme=1)
    # GEMM: pack, every output stage
    S["pack_s8_tensor"] = gemm(8, 16, pack_only=True)
    S["pack_u8_axis_transposed"] = gemm(6, 10, btype="u8", transposed=True, bgran=PER_AXIS,
                                        pack_only=True)
    S["gemm_s32_plain"] = gemm(5, 12, options=False)
    S["gemm_s32_zero_points"] = gemm(7, 9, btype="u8", bgran=PER_AXIS, atype="s8")
    S["gemm_f32_bias_relu"] = gemm(6, 8, ctype="f32", bias=True, gflags=RELU)
    S["gemm_f32_batch_strided"] = gemm(5, 7, ctype="f32", batch=(2,), m=3,
                                       alay=dict(strides=["row", "gap", "row"]),
                                       clay=dict(strides=["gap", "row", "row"]))
    S["gemm_s8_float_multiplier"] = gemm(9, 11, ctype="s8")
    S["gemm_u8_fixed_point_channel"] = gemm(4, 20, btype="u8", bgran=PER_AXIS, ctype="u8",
                                            gflags=FIXED, per_channel=True)
    S["gemm_u8_narrow_trusted"] = gemm(3, 5, ctype="u8", cflags=NARROW | TRUSTED, aflags=TRUSTED)
    S["gemm_rowsums_given"] = gemm(6, 13, btype="s8", bgran=PER_AXIS, atype="u8", m=5,
                                   rowsums="correct")
    S["gemm_transposed_m1"] = gemm(10, 6, transposed=True, m=1, ctype="f32")
    S["gemm_empty_k"] = gemm(4, 0, ctype="f32")
    S["gemm_c_over_b"] = gemm(4, 8, share=(220, 15, 0))
    return S


def status(binary, path):
    env = dict(os.environ, FUZZ_VERBOSE="1", FUZZ_BACKEND="cpu")
    p = subprocess.run([binary, path], env=env, capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if line.strip().startswith("->"):
            return line.split()[1].rstrip(":")
    return "CRASH" if p.returncode else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", metavar="FUZZ_API", help="fuzz_api binary: pick salts, print statuses")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, data in seeds().items():
        path = os.path.join(a.out, name)
        expect_fail = "refused" in name or "bad" in name
        for salt in range(0, 64):
            data[2] = salt
            with open(path, "wb") as f:
                f.write(data)
            if not a.check:
                break
            st = status(a.check, path)
            if expect_fail or st == "CLQ_SUCCESS":
                break
        if a.check:
            print(f"{name:36s} {len(data):4d} bytes  salt {data[2]:2d}  {st}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
