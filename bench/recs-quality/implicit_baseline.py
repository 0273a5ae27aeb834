#!/usr/bin/env python3
"""The `implicit` baseline of bench/recs-quality: item-item cosine on the same split and cases.

Reads what `recs-quality` wrote into OUT (train.csv, cases.csv, popularity.csv) and writes, for each
K and each matrix, OUT/ranked/implicit_<matrix>_k<K>.csv (top 20 per case, the same format as the
Rust side's) and the same topped up with the popularity baseline (`_fill`), plus OUT/implicit.json.

How a case is scored: `CosineRecommender(K)` is fitted on a binary matrix of the training data,
rows = training orders (`--matrix order`, baskets: what personalize's co-purchase counts) or rows =
shoppers (`--matrix user`, how the library is usually fed), columns = products; it keeps each item's
K most similar items (cosine of the item columns; the item itself is one of the K). The case's cart (the first k items of the test
order, those known in training) is one row of a query matrix, and `recommend(..., N=20,
filter_already_liked_items=True)` scores every item by the sum of its similarities to the cart's
items (over their K neighbours) and leaves the cart out. Only items with a positive score count;
`_fill` appends the most popular items after them, as personalize's cart placement appends trending.

Usage: implicit_baseline.py OUT [--k 20,50,100,200] [--matrix order,user]
"""

import argparse
import json
import os
import time
import warnings

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

import implicit
from implicit.nearest_neighbours import CosineRecommender

TOP_N = 20
# CosineRecommender.fit hands its own normalised (COO) matrix on; the conversion is all it costs.
warnings.filterwarnings("ignore", message="Method expects CSR input")


def write_ranked(path, ranked):
    with open(path, "w") as f:
        f.write("case,ranked\n")
        for case, items in enumerate(ranked):
            f.write(f"{case},{' '.join(str(p) for p in items)}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--k", default="20,50,100,200", help="neighbours kept per item (comma-separated)")
    parser.add_argument("--matrix", default="order,user", help="rows of the fitted matrix: order, user")
    args = parser.parse_args()

    train = pd.read_csv(os.path.join(args.out, "train.csv"))
    cases = pd.read_csv(os.path.join(args.out, "cases.csv"), dtype={"cart": str})
    popular = pd.read_csv(os.path.join(args.out, "popularity.csv"))["product_id"].to_numpy()

    products = np.sort(train["product_id"].unique())
    column = {int(p): i for i, p in enumerate(products)}
    train_cols = train["product_id"].map(column).to_numpy()

    # The carts as a query matrix: one row per case, the cart's items known in training.
    indptr, indices = [0], []
    carts = []
    for cart in cases["cart"]:
        items = [int(p) for p in str(cart).split()]
        carts.append(set(items))
        cols = sorted({column[p] for p in items if p in column})
        indices.extend(cols)
        indptr.append(len(indices))
    queries = csr_matrix(
        (np.ones(len(indices), dtype=np.float32), np.array(indices, dtype=np.int32), np.array(indptr)),
        shape=(len(cases), len(products)),
    )

    methods = []
    for matrix in args.matrix.split(","):
        key = {"order": "order_id", "user": "user_id"}[matrix]
        rows, row_ids = np.unique(train[key].to_numpy(), return_inverse=True)
        fitted = csr_matrix(
            (np.ones(len(train), dtype=np.float32), (row_ids, train_cols)), shape=(len(rows), len(products))
        )
        fitted.sum_duplicates()
        fitted.data[:] = 1.0  # binary: an item a shopper bought in several orders counts once
        for k in [int(k) for k in args.k.split(",")]:
            started = time.perf_counter()
            model = CosineRecommender(K=k)
            model.fit(fitted, show_progress=False)
            fit_seconds = time.perf_counter() - started
            ids, scores = model.recommend(
                np.arange(len(cases)), queries, N=TOP_N, filter_already_liked_items=True
            )
            ranked, filled = [], []
            for row_ids_, row_scores, cart in zip(ids, scores, carts):
                mine = [int(products[i]) for i, s in zip(row_ids_, row_scores) if s > 0 and i >= 0]
                mine = [p for p in mine if p not in cart][:TOP_N]
                ranked.append(mine)
                full = list(mine)
                for p in popular:
                    if len(full) >= TOP_N:
                        break
                    p = int(p)
                    if p not in cart and p not in full:
                        full.append(p)
                filled.append(full)
            seconds = time.perf_counter() - started
            for fill, lists in [(False, ranked), (True, filled)]:
                method = f"implicit_{matrix}_k{k}" + ("_fill" if fill else "")
                write_ranked(os.path.join(args.out, "ranked", f"{method}.csv"), lists)
                methods.append(
                    {
                        "id": method,
                        "family": "implicit",
                        "matrix": matrix,
                        "k": k,
                        "fill": fill,
                        "fit_seconds": round(fit_seconds, 3),
                        "seconds": round(seconds, 3),
                        "rows": int(len(rows)),
                    }
                )
            print(f"implicit: {matrix} x item matrix {fitted.shape}, K={k}: fit and scored in {seconds:.1f} s")

    with open(os.path.join(args.out, "implicit.json"), "w") as f:
        json.dump({"implicit_version": implicit.__version__, "methods": methods}, f, indent=2)


if __name__ == "__main__":
    main()
