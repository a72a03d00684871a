#!/usr/bin/python3
"""A small MLP on scikit-learn's bundled digits data (8x8 images, 10 classes; no download), trained with
torch.nn.Dropout and with simdrop.torch.Dropout under the same settings, over several seeds: test accuracy
(mean and spread) and time per epoch side by side.

    PYTHONPATH=<build>/python /usr/bin/python3 examples/train_digits.py [--epochs 30] [--seeds 5] [--p 0.3]
        [--threads N] [--json out.json] [--check]

--check exits non-zero unless both dropouts train (mean test accuracy >= --min-accuracy) and the two runs of each
seed share what is said below; ctest runs a short budget with it.

What the torch and simdrop runs of one seed share, and what not:
* shared: the data split (fixed, seed 0), the initial weights (the model is built right after
  torch.manual_seed(seed); neither dropout module draws anything at construction), the batch order of every epoch
  (torch.randperm on a torch.Generator of its own, seeded with the seed), and all other settings;
* not shared: the dropout masks. Both kinds draw them from torch's default generator, which
  torch.manual_seed(seed) decides, but torch.nn.Dropout draws a Bernoulli mask element by element from it, while
  simdrop.torch.Dropout draws one 64-bit seed per call from it and makes the mask with its own generator
  (Philox4x32-10): different generators and algorithms, so different masks, and from the first batch on the
  two runs' weights differ. Per-seed accuracies of the two kinds are therefore not expected to match; compare
  the means against the spread over seeds.
"""
import argparse
import json
import statistics
import sys
import time

import torch
from sklearn.datasets import load_digits

import simdrop.torch as sdt


def data(split_seed=0):
    """Digits as float32 tensors, features scaled to [0, 1]; a fixed 80/20 split."""
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(split_seed))
    cut = int(0.8 * len(y))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def model(dropout, p, hidden):
    return torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), dropout(p),
                               torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), dropout(p),
                               torch.nn.Linear(hidden, 10))


def train(kind, seed, args, splits):
    """One run: (test accuracy, median seconds per epoch, initial weights, batch orders)."""
    xtr, ytr, xte, yte = splits
    torch.manual_seed(seed)  # decides the initial weights (same for both kinds) and the dropout masks (not shared)
    net = model(torch.nn.Dropout if kind == "torch" else sdt.Dropout, args.p, args.hidden)
    initial = {name: t.detach().clone() for name, t in net.state_dict().items()}
    batches = torch.Generator().manual_seed(seed)  # the batch order's own generator: dropout draws do not move it
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch_times, orders = [], []
    for _ in range(args.epochs):
        net.train()
        order = torch.randperm(len(ytr), generator=batches)
        orders.append(order)
        start = time.perf_counter()
        for i in range(0, len(ytr), args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad()
            loss_fn(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
        epoch_times.append(time.perf_counter() - start)
    net.eval()
    with torch.no_grad():
        accuracy = (net(xte).argmax(1) == yte).double().mean().item()
    return accuracy, statistics.median(epoch_times), initial, orders


def same_tensors(a, b):
    """Two dicts or lists of tensors, equal in keys/length, dtype, shape and every bit."""
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return False
        a, b = list(a.values()), [b[k] for k in a]
    return len(a) == len(b) and all(x.dtype == y.dtype and torch.equal(x, y) for x, y in zip(a, b))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--check", action="store_true", help="fail unless both reach --min-accuracy")
    parser.add_argument("--min-accuracy", type=float, default=0.85)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = data()
    results = {}
    runs_of = {"torch": [], "simdrop": []}
    for seed in range(args.seeds):  # the two kinds interleaved, so that the machine's load drifts over both
        for kind in runs_of:
            runs_of[kind].append(train(kind, seed, args, splits))
    for kind, runs in runs_of.items():
        acc = [r[0] for r in runs]
        results[kind] = {"accuracy": acc, "accuracy_mean": statistics.mean(acc),
                         "accuracy_stdev": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                         "seconds_per_epoch_median": statistics.median(r[1] for r in runs)}
    # What the two kinds' runs of each seed share (see the docstring): initial weights and batch orders.
    shared = {"initial_weights": all(same_tensors(t[2], s[2]) for t, s in zip(runs_of["torch"], runs_of["simdrop"])),
              "batch_order": all(same_tensors(t[3], s[3]) for t, s in zip(runs_of["torch"], runs_of["simdrop"]))}
    print(f"digits MLP 64-{args.hidden}-{args.hidden}-10, dropout p={args.p}, {args.epochs} epochs, {args.seeds} seeds, "
          f"{torch.get_num_threads()} thread(s), train {len(splits[1])} / test {len(splits[3])}")
    print(f"{'dropout':<22}{'test accuracy (mean +- sd)':<30}{'ms / epoch (median)':>20}")
    names = {"torch": "torch.nn.Dropout", "simdrop": "simdrop.torch.Dropout"}
    for kind, r in results.items():
        print(f"{names[kind]:<22}{r['accuracy_mean']:.4f} +- {r['accuracy_stdev']:.4f}{'':<13}"
              f"{1e3 * r['seconds_per_epoch_median']:>20.1f}")
    print("torch and simdrop runs of each seed: initial weights "
          f"{'identical' if shared['initial_weights'] else 'DIFFERENT'}, batch orders "
          f"{'identical' if shared['batch_order'] else 'DIFFERENT'}, dropout masks not shared (different generators)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "threads": torch.get_num_threads(), "shared": shared,
                       "results": results}, f, indent=1)
    if args.check:
        bad = [k for k, r in results.items() if not r["accuracy_mean"] >= args.min_accuracy]
        if bad:
            print(f"FAILED: mean test accuracy below {args.min_accuracy} for {bad}", file=sys.stderr)
            return 1
        unshared = [k for k, ok in shared.items() if not ok]
        if unshared:
            print(f"FAILED: the torch and simdrop runs of a seed differ in {unshared}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
