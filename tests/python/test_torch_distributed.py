"""Two processes with torch.distributed (gloo, localhost): the tensor-parallel pattern of simdrop.torch.

* Sharded: each rank drops its rows [a, b) of x at offset + a * row; an all_gather of the shards is exactly the
  single-process sdt.dropout(x) (forward and backward), for dropout and channel dropout (batch shards).
* Replicated: ranks holding the same tensor get identical masks from the same (seed, offset), with no RNG
  state exchanged; their torch generators are seeded differently on purpose, and F.dropout's masks differ.

Run: PYTHONPATH=<build>/python /usr/bin/python3 -m pytest tests/python/test_torch_distributed.py
(the test starts `python3 this_file.py --rank R --port P` twice and reads each rank's verdict).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile

WORLD = 2
SEED, OFFSET, P = 424242, 1000, 0.3


def bits(t):
    import torch
    return t.contiguous().view({torch.float32: torch.int32, torch.float64: torch.int64}[t.dtype])


def gather(t):
    import torch
    import torch.distributed as dist
    parts = [torch.empty_like(t) for _ in range(WORLD)]
    dist.all_gather(parts, t.contiguous())
    return parts


def worker(rank, port, out):
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F

    import simdrop.torch as sdt

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    checks = {}
    # The whole x is known to every rank here only to compute the single-process reference.
    g = torch.Generator().manual_seed(7)
    rows, row = 16, 257
    x = torch.randn(rows, row, generator=g)
    a, b = rank * rows // WORLD, (rank + 1) * rows // WORLD

    # Sharded forward: this rank's rows at offset + a * row.
    shard = x[a:b].clone().requires_grad_()
    y_shard = sdt.dropout(shard, P, SEED, OFFSET + a * row)
    single = sdt.dropout(x, P, SEED, OFFSET)
    checks["sharded_forward"] = torch.equal(bits(torch.cat(gather(y_shard.detach()))), bits(single))
    # Sharded backward: gradients regenerate the same shard masks.
    dy = torch.randn(rows, row, generator=g)
    y_shard.backward(dy[a:b])
    xs = x.clone().requires_grad_()
    sdt.dropout(xs, P, SEED, OFFSET).backward(dy)
    checks["sharded_backward"] = torch.equal(bits(torch.cat(gather(shard.grad))), bits(xs.grad))
    # Channel dropout sharded over the batch: C positions per sample.
    xc = torch.randn(6, 4, 3, 3, generator=g)
    ca, cb = rank * 3, rank * 3 + 3
    yc = sdt.channel_dropout(xc[ca:cb], P, SEED, OFFSET + ca * 4)
    checks["sharded_channel"] = torch.equal(bits(torch.cat(gather(yc))), bits(sdt.channel_dropout(xc, P, SEED, OFFSET)))

    # Replicated: torch's generators differ per rank (no RNG-state exchange of any kind) ...
    torch.manual_seed(1000 + rank)
    replicated = torch.randn(rows, row, generator=torch.Generator().manual_seed(9))
    torch_masks = gather((F.dropout(replicated, P) == 0).to(torch.float32))
    checks["torch_masks_differ_without_rng_exchange"] = not torch.equal(torch_masks[0], torch_masks[1])
    # ... and simdrop's masks agree from (seed, offset) alone: functional and module (seed given, stepping).
    mine = sdt.dropout(replicated, P, SEED, OFFSET)
    parts = gather(mine)
    checks["replicated_identical"] = torch.equal(bits(parts[0]), bits(parts[1])) and torch.equal(bits(mine), bits(parts[0]))
    module = sdt.Dropout(P, seed=SEED)
    steps = [module(replicated) for _ in range(3)]
    same = all(torch.equal(bits(q[0]), bits(q[1])) for q in (gather(s) for s in steps))
    checks["replicated_module_identical"] = same and not torch.equal(bits(steps[0]), bits(steps[1]))
    dist.barrier()
    dist.destroy_process_group()
    with open(out, "w") as f:
        json.dump(checks, f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_shard_and_replicate():
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
            assert len(checks) == 6
            failed = [k for k, ok in checks.items() if not ok]
            assert not failed, f"rank {r}: {failed}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    worker(args.rank, args.port, args.out)
