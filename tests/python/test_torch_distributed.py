"""Two processes with torch.distributed (gloo, localhost): what each rank's simdrop.torch dropout masks are.

What each rank's masks are:

* Without ``seed=`` (the modules, and the functional forms called as F.dropout is): every call draws one seed
  from its own process's torch CPU generator (the default one, or the ``generator=`` it was given) -- the value
  ``sdt.draw_seed()`` returns, ``torch.empty((), dtype=torch.int64).random_()`` -- and uses stream offset 0.
  So a rank's masks are decided by that rank's ``torch.manual_seed``, exactly as ``torch.nn.Dropout``'s are:
  - ranks seeded alike (``torch.manual_seed(s)`` on every rank) draw the same seeds in the same order, so they
    apply the same masks (for inputs of the same shape), whatever their data -- as ``torch.nn.Dropout`` does;
  - ranks seeded apart (``torch.manual_seed(base + rank)``) draw different seeds, and each rank's masks are
    exactly ``sdt.dropout(input, p, seed=<that rank's own draw>)``, different from the other ranks'.
  Nothing about the masks is exchanged between ranks. DistributedDataParallel neither synchronises nor changes
  them: it only averages gradients, and the averaged gradient is the average over ranks of each rank's own
  single-process gradient under its own masks. (DDP makes the weights equal at construction by broadcasting
  rank 0's; it does not touch the generators. For independent masks per rank, seed each rank's generator
  differently after building the model.)
* With ``seed=``/``offset=``: a mask is a function of (seed, offset, element position) only. Ranks holding the
  same (replicated) tensor get the same mask with no RNG state exchanged, and a rank holding rows [a, b) of a
  2-d tensor, dropped at ``offset + a * row_length``, gets exactly those rows of the whole tensor's mask
  (tensor parallel), forward and backward.

What is checked here (each rank writes its verdicts as JSON):
* sharded dropout and channel dropout (batch shards): the all_gather of the shards is the single-process result;
* replicated tensors: torch's F.dropout masks differ across differently seeded ranks, simdrop's explicit
  (seed, offset) masks agree;
* a DDP training step (gloo) of a small conv + MLP with sdt.Dropout2d and sdt.Dropout, different data per rank:
  (a) torch.manual_seed(same) on both ranks: each module output is sdt.dropout*(its input, seed=draw) with the
      draws recomputed from the saved torch.get_rng_state(), and the draws and keep masks are identical across
      ranks (as torch's F.dropout masks are under the same seeding);
  (b) torch.manual_seed(base + rank): the same recomputation holds with each rank's own draws, and the masks
      differ across ranks (as F.dropout's do);
  (c) in both, every DDP gradient equals the average over ranks of each rank's single-process gradient (same
      weights, same data, same drawn seeds), bit for bit: with two ranks each element of DDP's all-reduce is
      one fp32 addition of g0 / 2 and g1 / 2 (DDP divides by the world size before the sum; halving is exact,
      fp32 addition is commutative), which is exactly how the reference is formed. (With more ranks the ring's
      summation order would make it a tolerance of a few ulp.) After the optimizer steps the replicas agree.

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_torch_distributed.py
(the test starts `python3 this_file.py --rank R --port P --out F` twice and reads each rank's verdicts).
"""
import argparse
import copy
import json
import os
import socket
import subprocess
import sys
import tempfile

WORLD = 2
# Seed past 2**63 and offset past 2**32: the bits of the C++ Stream{seed, offset} must survive the binding.
SEED, OFFSET, P = 0xD1B54A32D192ED03, 2**33 + 1000, 0.3
SAME_SEED, BASE_SEED = 31337, 5000  # DDP scenarios: manual_seed(SAME_SEED) on all ranks; manual_seed(BASE + rank)
CHECKS = ["sharded_forward", "sharded_backward", "sharded_channel", "torch_masks_differ_without_rng_exchange",
          "replicated_identical"] + [f"ddp_{s}_{c}" for s in ("same_seed", "rank_seed")
                                     for c in ("outputs_are_sdt_of_recomputed_draws", "torch_masks_across_ranks",
                                               "simdrop_masks_across_ranks", "grads_are_average_of_single_process")] \
    + ["ddp_replicas_agree_after_steps"]


def bits(t):
    import torch
    return t.contiguous().view({torch.float32: torch.int32, torch.float64: torch.int64}[t.dtype])


def gather(t):
    import torch
    import torch.distributed as dist
    parts = [torch.empty_like(t) for _ in range(WORLD)]
    dist.all_gather(parts, t.contiguous())
    return parts


def all_same(t):
    import torch
    parts = gather(t)
    return all(torch.equal(parts[0], q) for q in parts[1:])


def all_differ(t):
    import torch
    parts = gather(t)
    return all(not torch.equal(parts[i], parts[j]) for i in range(WORLD) for j in range(i))


def tensor_parallel_checks(rank, checks):
    import torch
    import torch.nn.functional as F

    import simdrop.torch as sdt

    # The whole x is known to every rank here only to compute the single-process reference.
    g = torch.Generator().manual_seed(7)
    rows, row = 16, 257
    x = torch.randn(rows, row, generator=g)
    a, b = rank * rows // WORLD, (rank + 1) * rows // WORLD

    # Sharded forward: this rank's rows at offset + a * row.
    shard = x[a:b].clone().requires_grad_()
    y_shard = sdt.dropout(shard, P, seed=SEED, offset=OFFSET + a * row)
    single = sdt.dropout(x, P, seed=SEED, offset=OFFSET)
    checks["sharded_forward"] = torch.equal(bits(torch.cat(gather(y_shard.detach()))), bits(single))
    # Sharded backward: gradients regenerate the same shard masks.
    dy = torch.randn(rows, row, generator=g)
    y_shard.backward(dy[a:b])
    xs = x.clone().requires_grad_()
    sdt.dropout(xs, P, seed=SEED, offset=OFFSET).backward(dy)
    checks["sharded_backward"] = torch.equal(bits(torch.cat(gather(shard.grad))), bits(xs.grad))
    # Channel dropout sharded over the batch: C positions per sample.
    xc = torch.randn(6, 4, 3, 3, generator=g)
    ca, cb = rank * 3, rank * 3 + 3
    yc = sdt.channel_dropout(xc[ca:cb], P, seed=SEED, offset=OFFSET + ca * 4)
    whole = sdt.channel_dropout(xc, P, seed=SEED, offset=OFFSET)
    checks["sharded_channel"] = torch.equal(bits(torch.cat(gather(yc))), bits(whole))

    # Replicated: torch's generators differ per rank (no RNG-state exchange of any kind) ...
    torch.manual_seed(1000 + rank)
    replicated = torch.randn(rows, row, generator=torch.Generator().manual_seed(9))
    checks["torch_masks_differ_without_rng_exchange"] = all_differ((F.dropout(replicated, P) == 0).to(torch.float32))
    # ... and simdrop's masks agree from (seed, offset) alone.
    mine = sdt.dropout(replicated, P, seed=SEED, offset=OFFSET)
    checks["replicated_identical"] = all_same(bits(mine))


class Net:
    """A small conv + MLP with simdrop's Dropout2d and Dropout (built lazily: torch is imported in the worker)."""

    @staticmethod
    def build(dropout2d, dropout):
        import torch
        return torch.nn.Sequential(
            torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), dropout2d(P),  # (N, 4, 6, 6) planes
            torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 48), torch.nn.ReLU(), dropout(P),
            torch.nn.Linear(48, 48), torch.nn.ReLU(), dropout(P),
            torch.nn.Linear(48, 5))


def ddp_checks(rank, checks):
    import torch
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel as DDP

    import simdrop.torch as sdt

    torch.manual_seed(0)  # the same initial weights on every rank (DDP would broadcast rank 0's anyway)
    model = Net.build(sdt.Dropout2d, sdt.Dropout)
    local = copy.deepcopy(model)  # the single-process twin: no DDP, no hooks
    drops = [m for m in model if isinstance(m, (sdt.Dropout, sdt.Dropout2d))]
    functional = {sdt.Dropout: sdt.dropout, sdt.Dropout2d: sdt.dropout2d}
    records = []
    for m in drops:
        m.register_forward_hook(lambda mod, inp, out: records.append((mod, inp[0].detach(), out.detach())))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    # Different data on each rank, as in data-parallel training.
    g = torch.Generator().manual_seed(100 + rank)
    n = 8

    for scenario, torch_seed in (("same_seed", SAME_SEED), ("rank_seed", BASE_SEED + rank)):
        x, target = torch.randn(n, 2, 6, 6, generator=g), torch.randint(0, 5, (n,), generator=g)
        # torch.nn.Dropout under this seeding, for comparison: masks of a fixed shape, same across ranks or not.
        torch.manual_seed(torch_seed)
        torch_mask = (F.dropout(torch.ones(n, 48), P) != 0).to(torch.float32)
        checks[f"ddp_{scenario}_torch_masks_across_ranks"] = \
            all_same(torch_mask) if scenario == "same_seed" else all_differ(torch_mask)

        torch.manual_seed(torch_seed)
        state = torch.get_rng_state()
        records.clear()
        opt.zero_grad()
        F.cross_entropy(ddp(x), target).backward()
        # The draws the forward made, recomputed: restore the generator, draw in the forward's order.
        torch.set_rng_state(state)
        draws = [sdt.draw_seed() for _ in drops]
        assert [r[0] for r in records] == drops
        ok = all(torch.equal(bits(out), bits(functional[type(mod)](inp, P, seed=s)))
                 for (mod, inp, out), s in zip(records, draws))
        checks[f"ddp_{scenario}_outputs_are_sdt_of_recomputed_draws"] = ok
        # Each layer's keep mask (element bits for Dropout, one bit per (n, c) plane for Dropout2d) from its draw.
        masks = torch.cat([sdt.keep_mask(inp.numel() if type(mod) is sdt.Dropout else inp.shape[0] * inp.shape[1],
                                         P, s).to(torch.uint8) for (mod, inp, _), s in zip(records, draws)])
        draw_tensor = torch.tensor(draws, dtype=torch.int64)  # draws are < 2**63
        if scenario == "same_seed":
            checks[f"ddp_{scenario}_simdrop_masks_across_ranks"] = all_same(draw_tensor) and all_same(masks)
        else:
            checks[f"ddp_{scenario}_simdrop_masks_across_ranks"] = all_differ(draw_tensor) and all_differ(masks)

        # (c) The single-process gradient of this rank (same weights, data and draws), averaged over ranks as DDP
        # does it: each rank's gradient divided by the world size, then summed.
        local.load_state_dict(model.state_dict())
        local.zero_grad()
        torch.set_rng_state(state)
        F.cross_entropy(local(x), target).backward()
        exact = True
        for p_ddp, p_local in zip(model.parameters(), local.parameters()):
            parts = gather(p_local.grad / WORLD)
            expected = parts[0]
            for q in parts[1:]:
                expected = expected + q
            exact = exact and torch.equal(bits(p_ddp.grad), bits(expected))
        checks[f"ddp_{scenario}_grads_are_average_of_single_process"] = exact
        opt.step()

    checks["ddp_replicas_agree_after_steps"] = all(all_same(bits(p.detach())) for p in model.parameters())


def worker(rank, port, out):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    checks = {}
    tensor_parallel_checks(rank, checks)
    ddp_checks(rank, checks)
    dist.barrier()
    dist.destroy_process_group()
    with open(out, "w") as f:
        json.dump(checks, f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_shard_replicate_and_ddp():
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        outs = [os.path.join(tmp, f"rank{r}.json") for r in range(WORLD)]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        procs = [subprocess.Popen([sys.executable, __file__, "--rank", str(r), "--port", str(port), "--out", outs[r]],
                                  env=env) for r in range(WORLD)]
        codes = [p.wait(timeout=300) for p in procs]
        assert codes == [0] * WORLD, f"worker exit codes {codes}"
        for r in range(WORLD):
            with open(outs[r]) as f:
                checks = json.load(f)
            assert sorted(checks) == sorted(CHECKS), f"rank {r}: checks {sorted(checks)}"
            failed = [k for k, ok in checks.items() if ok is not True]
            assert not failed, f"rank {r}: {failed}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    worker(args.rank, args.port, args.out)
