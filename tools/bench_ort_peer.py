#!/usr/bin/env python3
"""bench_ort_peer.py: ONNX Runtime's MatMulNBits and DynamicQuantizeMatMul on one
GEMM shape, the peers `clquant-bench gemm --formats` runs as a subprocess in the
same run (same machine, same thread count, medians). One result line per case on
stdout ("ort key=value ..."), progress on stderr; without onnxruntime (or onnx,
numpy) it prints one "ort skip reason=..." line and exits 0.

Each case is a one-node model built with onnx.helper, weights as initializers (so
ONNX Runtime prepacks them at session creation, outside the timing, as clq packs),
CPU provider, intra_op_num_threads = --threads, inter_op 1, sequential execution.
A is f32 [M, K] (ONNX Runtime quantizes it inside the call where the kernel works
in int8: MatMulNBits accuracy_level 4 per block of K, DynamicQuantizeMatMul per
tensor to u8); Y f32 [M, N] bound once through IOBinding, so a timed call is one
run_with_iobinding, wall clock (time.perf_counter) around it.
"""
import argparse
import sys
import time


def log(msg):
    print("[ort] " + msg, file=sys.stderr, flush=True)


def skip(reason):
    print("ort skip reason=" + reason.replace("\n", " "), flush=True)
    sys.exit(0)


try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    import onnxruntime as ort
except Exception as e:  # ImportError, or a broken install: either way no peer
    skip("not importable: %s: %s (pip install onnxruntime onnx numpy)" % (type(e).__name__, e))


def nbits_model(n, k, block, level):
    """MatMulNBits, bits 4, no zero points (ONNX Runtime's default zero point 8: the
    values are symmetric s4 stored as u4), f32 scales [N, ceil(K/block)]."""
    rng = np.random.default_rng(1000 + block + level)
    nb = (k + block - 1) // block
    q = rng.integers(0, 16, size=(n, nb * block), dtype=np.uint8)
    packed = (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8).reshape(n, nb, block // 2)
    scales = (0.001 * (1 + rng.integers(0, 13, size=(n, nb)))).astype(np.float32)
    node = helper.make_node("MatMulNBits", ["A", "B", "scales"], ["Y"], domain="com.microsoft",
                            K=k, N=n, bits=4, block_size=block, accuracy_level=level)
    inits = [helper.make_tensor("B", TensorProto.UINT8, packed.shape, packed.tobytes(), raw=True),
             helper.make_tensor("scales", TensorProto.FLOAT, scales.shape, scales.tobytes(), raw=True)]
    w = (q[:, :k].astype(np.float64) - 8.0) * np.repeat(scales, block, axis=1)[:, :k]
    return node, inits, w, packed.nbytes + scales.nbytes


def dqmm_model(n, k):
    """DynamicQuantizeMatMul: B int8 [K, N], one scale per column, zero point 0."""
    rng = np.random.default_rng(7)
    b = rng.integers(-127, 128, size=(k, n), dtype=np.int8)
    bs = (0.001 * (1 + rng.integers(0, 13, size=(n,)))).astype(np.float32)
    node = helper.make_node("DynamicQuantizeMatMul", ["A", "B", "b_scale"], ["Y"],
                            domain="com.microsoft")
    inits = [helper.make_tensor("B", TensorProto.INT8, b.shape, b.tobytes(), raw=True),
             helper.make_tensor("b_scale", TensorProto.FLOAT, bs.shape, bs.tobytes(), raw=True)]
    w = (b.astype(np.float64) * bs[None, :].astype(np.float64)).T
    return node, inits, w, b.nbytes + bs.nbytes


def session(node, inits, m, n, k, threads):
    graph = helper.make_graph(
        [node], "peer", [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def time_case(sess, a, y, runs, budget, min_runs, max_runs):
    io = sess.io_binding()
    io.bind_cpu_input("A", a)
    io.bind_output("Y", "cpu", 0, np.float32, list(y.shape), y.ctypes.data)

    def once():
        t0 = time.perf_counter()
        sess.run_with_iobinding(io)
        return time.perf_counter() - t0

    once()                      # first call: kernel set-up, first touch
    warm = once()
    if not runs:
        runs = int(budget / warm) if warm > 0 else max_runs
        runs = max(min_runs, min(max_runs, runs))
    t = sorted(once() for _ in range(runs))
    med = t[runs // 2] if runs % 2 else 0.5 * (t[runs // 2 - 1] + t[runs // 2])
    return med, runs


def check(y, a, w):
    """A few entries against the f64 product of the dequantized weights: relative to
    sum |a| |w| (accuracy_level 4 and DynamicQuantizeMatMul quantize A to 8 bits)."""
    m, n = y.shape
    worst = 0.0
    for (i, j) in [(0, 0), (m - 1, n - 1), (m // 2, n // 3), (m - 1, 0)]:
        want = float(a[i].astype(np.float64) @ w[j])
        mag = float(np.abs(a[i]).astype(np.float64) @ np.abs(w[j])) or 1.0
        worst = max(worst, abs(float(y[i, j]) - want) / mag)
    return worst


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--m", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--runs", type=int, default=0, help="0: from the warm-up and --budget")
    p.add_argument("--budget", type=float, default=2.0, help="timed seconds per case")
    p.add_argument("--min-runs", type=int, default=3)
    p.add_argument("--max-runs", type=int, default=101)
    p.add_argument("--blocks", default="32,128")
    p.add_argument("--levels", default="0,4")
    p.add_argument("--no-dqmm", action="store_true")
    o = p.parse_args()
    m, n, k = o.m, o.n, o.k
    print("ort version onnxruntime=%s onnx=%s numpy=%s threads=%d" %
          (ort.__version__, onnx.__version__, np.__version__, o.threads), flush=True)
    rng = np.random.default_rng(3)
    a = (rng.random((m, k), dtype=np.float32) * 2.0 - 1.0).astype(np.float32)
    y = np.zeros((m, n), dtype=np.float32)
    cases = []
    for block in [int(b) for b in o.blocks.split(",") if b]:
        for level in [int(v) for v in o.levels.split(",") if v]:
            cases.append(("MatMulNBits", block, level))
    if not o.no_dqmm:
        cases.append(("DynamicQuantizeMatMul", 0, 0))
    for op, block, level in cases:
        desc = ("%s bits=4 block=%d accuracy_level=%d" % (op, block, level) if block else op)
        log("%dx%dx%d: %s: session, warm-up ..." % (m, n, k, desc))
        try:
            node, inits, w, wbytes = nbits_model(n, k, block, level) if block else dqmm_model(n, k)
            sess = session(node, inits, m, n, k, o.threads)
            med, runs = time_case(sess, a, y, o.runs, o.budget, o.min_runs, o.max_runs)
        except Exception as e:  # an op this build lacks: a line, not the end of the run
            print("ort case op=%s bits=4 block=%d accuracy_level=%d m=%d n=%d k=%d error=%s" %
                  (op, block, level, m, n, k, (str(e).splitlines() or [type(e).__name__])[0][:150]),
                  flush=True)
            continue
        err = check(y, a, w)
        print("ort case op=%s bits=%d block=%d accuracy_level=%d m=%d n=%d k=%d threads=%d "
              "runs=%d median_s=%.9f weight_bytes=%d check_rel_err=%.3g" %
              (op, 4 if block else 8, block, level, m, n, k, o.threads, runs, med, wbytes, err),
              flush=True)
        del sess


if __name__ == "__main__":
    main()
