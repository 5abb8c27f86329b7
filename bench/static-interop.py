#!/usr/bin/env python3
"""`python3 bench/static-interop.py DIR/interop.json`: the folders bench/static-interop.ts saved, loaded
by model2vec's StaticModel.from_pretrained and sentence-transformers' SentenceTransformer (whichever
is installed), their embeddings of the same texts compared with ours. Prints one JSON line per check;
exits 1 when an embedding differs by more than 1e-5 (after normalising: infonce always normalises)."""
import json
import sys

import numpy as np


def normalised(m):
    m = np.asarray(m, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1)


def main(path):
    record = json.load(open(path))
    failed = False
    for entry in record:
        ours = normalised(entry["embeddings"])
        loaders = []
        try:
            from sentence_transformers import SentenceTransformer

            loaders.append(("sentence-transformers", lambda d: SentenceTransformer(d, device="cpu").encode(entry["texts"])))
        except ImportError:
            pass
        if entry["format"] == "model2vec":
            try:
                from model2vec import StaticModel

                loaders.append(("model2vec", lambda d: StaticModel.from_pretrained(d).encode(entry["texts"])))
            except ImportError:
                pass
        if not loaders:
            print(json.dumps({"format": entry["format"], "skipped": "neither sentence-transformers nor model2vec is installed"}))
            continue
        for name, load in loaders:
            try:
                theirs = normalised(load(entry["dir"]))
                error = float(np.max(np.abs(theirs - ours)))
                ok = error <= 1e-5
            except Exception as e:  # a library that cannot load the folder is a failed check, said
                error, ok = str(e), False
            failed |= not ok
            print(json.dumps({"format": entry["format"], "loaded by": name, "max abs difference": error, "ok": ok}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
