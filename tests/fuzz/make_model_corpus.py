#!/usr/bin/env python3
"""make_model_corpus.py: the seeds of fuzz_safetensors and fuzz_gguf (tests/fuzz/corpus-
safetensors, corpus-gguf): small valid files of each format, every dtype and metadata
type the readers know. Needs numpy and gguf (.test-venv); clquant's own outputs are
added when a built tool is given: make_model_corpus.py [build/clquant]"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import gguf

HERE = os.path.dirname(os.path.abspath(__file__))


def st(path, tensors, meta=None):
    header, at, blobs = {}, 0, []
    if meta:
        header["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [at, at + len(raw)]}
        at += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    sdir, gdir = os.path.join(HERE, "corpus-safetensors"), os.path.join(HERE, "corpus-gguf")
    os.makedirs(sdir, exist_ok=True)
    os.makedirs(gdir, exist_ok=True)
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 64)).astype(np.float32)
    st(os.path.join(sdir, "f32_meta"), [("w", "F32", [4, 64], w.tobytes()),
                                        ("b", "F32", [4], w[0, :4].tobytes())], {"format": "pt"})
    st(os.path.join(sdir, "dtypes"), [
        ("h", "F16", [2, 3], np.ones(6, np.float16).tobytes()),
        ("bf", "BF16", [3], b"\x80\x3f" * 3), ("i", "I64", [2], np.arange(2, dtype=np.int64).tobytes()),
        ("q", "I8", [1, 8], bytes(range(8))), ("p", "I32", [1, 1], b"\x88" * 4),
        ("s", "F64", [], np.float64(1).tobytes()), ("e", "BOOL", [0], b""),
        ("u", "U8", [2, 2], b"\x01\x02\x03\x04"), ("f8", "F8_E4M3", [2], b"\x38\x40")])
    st(os.path.join(sdir, "empty"), [])
    g = gguf.GGUFWriter(os.path.join(gdir, "kv_all"), "llama")
    g.add_uint8("a.u8", 1); g.add_int8("a.i8", -1); g.add_uint16("a.u16", 2); g.add_int16("a.i16", -2)
    g.add_uint32("a.u32", 3); g.add_int32("a.i32", -3); g.add_float32("a.f32", 0.5); g.add_bool("a.b", True)
    g.add_string("a.s", "text"); g.add_uint64("a.u64", 4); g.add_int64("a.i64", -4); g.add_float64("a.f64", 0.25)
    g.add_array("a.arr_s", ["x", "yz"]); g.add_array("a.arr_i", [1, 2, 3])
    x = rng.standard_normal((2, 64)).astype(np.float32)
    g.add_tensor("t.f32", x)
    g.add_tensor("t.f16", x.astype(np.float16))
    q = gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q8_0)
    g.add_tensor("t.q8", q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    q = gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q4_0)
    g.add_tensor("t.q4", q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q4_0)
    g.write_header_to_file(); g.write_kv_data_to_file(); g.write_tensors_to_file(); g.close()
    if len(sys.argv) > 1:
        src = os.path.join(tempfile.mkdtemp(), "m.safetensors")
        st(src, [("l.weight", "F32", [4, 64], w.tobytes()), ("l.bias", "F32", [4], w[0, :4].tobytes())])
        for scheme, d, name in (("s8-channel", sdir, "clquant_s8"), ("s4-g32", sdir, "clquant_s4"),
                                ("q4_0", gdir, "clquant_q4_0")):
            subprocess.run([sys.argv[1], "quantize", src, "-o", os.path.join(d, name), "--scheme",
                            scheme, "--device", "cpu", "--no-progress"], check=True,
                           stdout=subprocess.DEVNULL)
    for d in (sdir, gdir):
        for f in sorted(os.listdir(d)):
            print(f"{d}/{f}: {os.path.getsize(os.path.join(d, f))} bytes")


if __name__ == "__main__":
    main()
