#!/usr/bin/env python3
"""gguf_peer.py: `clquant quantize --scheme q8_0 / q4_0` against PyPI's gguf package:
the GGUF file read by gguf's own reader, every block equal to gguf's numpy quantizers
(which follow ggml's quantize_row_*_ref), and `clquant dequantize` equal to gguf's
dequantize. Exits 77 (ctest: skipped) when numpy or gguf cannot be imported.

usage: gguf_peer.py CLQUANT [WORKDIR]"""
import importlib.metadata
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PY = os.path.join(HERE, "..", ".test-venv", "bin", "python3")

try:
    import numpy as np
    import gguf
    from gguf import GGUFReader, GGMLQuantizationType
    from gguf import quants
except ImportError:
    # (the venv's python3 is a symlink to the system's: tell them apart by an env mark)
    if os.path.exists(VENV_PY) and not os.environ.get("CLQ_GGUF_PEER_REEXEC"):
        os.environ["CLQ_GGUF_PEER_REEXEC"] = "1"
        os.execv(VENV_PY, [VENV_PY] + sys.argv)
    print("gguf_peer: numpy / gguf not importable (scripts/setup.sh makes .test-venv): skipped")
    sys.exit(77)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype string, shape, raw bytes)."""
    header, at = {"__metadata__": {"format": "pt"}}, 0
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        at += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for t in tensors:
            f.write(t[3])


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        assert t["dtype"] == "F32", (name, t["dtype"])
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"])
    return out


def model(rng):
    """f32, f16 and bf16 weights (bf16 as the top halves of f32), with ties of both
    rounding rules: a Q8_0 block whose amax is 127 (d = 1: x * id lands on k + 0.5) and
    a Q4_0 block whose max is -8 (d = 1)."""
    w0 = (rng.standard_normal((48, 128)) * 0.02).astype(np.float32)
    w0[0, :32] = np.arange(32, dtype=np.float32) - 15.5
    w0[0, 31] = 127.0
    w0[1, :32] = (np.arange(32, dtype=np.float32) % 16) - 7.5
    w0[1, 0] = -8.0
    w0[2, :32] = 0.0
    w0[3, 32:64] = 1e-6 * rng.standard_normal(32)
    w1 = (rng.standard_normal((32, 64)) * 0.5).astype(np.float16)
    w2f = (rng.standard_normal((16, 96)) * 3.0).astype(np.float32)
    w2 = (w2f.view(np.uint32) >> 16).astype(np.uint16)
    bias = rng.standard_normal(48).astype(np.float32)
    tensors = [("blk.0.w0.weight", "F32", w0.shape, w0.tobytes()),
               ("blk.0.w0.bias", "F32", bias.shape, bias.tobytes()),
               ("blk.0.w1.weight", "F16", w1.shape, w1.tobytes()),
               ("blk.0.w2.weight", "BF16", w2.shape, w2.tobytes())]
    floats = {"blk.0.w0.weight": w0, "blk.0.w1.weight": w1.astype(np.float32),
              "blk.0.w2.weight": (w2.astype(np.uint32) << 16).view(np.float32)}
    return tensors, floats, bias


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    clquant = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="clq-gguf-peer-")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    tensors, floats, bias = model(rng)
    src = os.path.join(work, "in.safetensors")
    write_safetensors(src, tensors)
    checked = 0
    for scheme, qtype in (("q8_0", GGMLQuantizationType.Q8_0), ("q4_0", GGMLQuantizationType.Q4_0)):
        for device in ("cpu", "auto"):
            out = os.path.join(work, f"{scheme}-{device}.gguf")
            subprocess.run([clquant, "quantize", src, "-o", out, "--scheme", scheme, "--device",
                            device, "--no-progress"], check=True, stdout=subprocess.DEVNULL)
            r = GGUFReader(out)
            assert r.fields["general.quantization_version"].parts[-1][0] == 2
            assert r.alignment == 32 if hasattr(r, "alignment") else True
            by_name = {t.name: t for t in r.tensors}
            assert set(by_name) == {t[0] for t in tensors}, sorted(by_name)
            b = by_name["blk.0.w0.bias"]
            assert b.tensor_type == GGMLQuantizationType.F32
            assert np.array_equal(np.asarray(b.data).view(np.float32).reshape(-1), bias)
            for name, x in floats.items():
                t = by_name[name]
                assert t.tensor_type == qtype, (name, t.tensor_type)
                # GGUF's ne[] is innermost first
                assert [int(v) for v in t.shape] == [x.shape[1], x.shape[0]], (name, t.shape)
                want = quants.quantize(x, qtype)
                got = np.asarray(t.data).reshape(want.shape)
                if not np.array_equal(got, want):
                    bad = np.argwhere((got != want).any(axis=-1))[:5]
                    raise AssertionError(f"{scheme} {device} {name}: blocks differ from gguf's "
                                         f"numpy quantizer at rows {bad.tolist()}")
                checked += 1
            # back to f32: gguf's dequantize
            deq = os.path.join(work, f"{scheme}-{device}.safetensors")
            subprocess.run([clquant, "dequantize", out, "-o", deq, "--device", device], check=True,
                           stdout=subprocess.DEVNULL)
            d = read_safetensors(deq)
            for name, x in floats.items():
                want = quants.dequantize(quants.quantize(x, qtype), qtype).astype(np.float32)
                assert np.array_equal(d[name].view(np.uint32), want.reshape(d[name].shape).view(np.uint32)), \
                    f"{scheme} {device} {name}: dequantized values differ from gguf's"
    print(f"gguf_peer: {checked} tensors of q8_0 / q4_0 equal to gguf {importlib.metadata.version('gguf')}"
          f"'s numpy quantizers, and their dequantized values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
