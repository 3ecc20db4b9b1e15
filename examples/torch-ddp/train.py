"""Data-parallel training of the bnn example's binary network with its ReSTE estimator, from the
PyTorch module `estc build --emit torch` generates (README.md beside this file).

Two processes (torch.multiprocessing.spawn) on the gloo backend, each on its shard of a
synthetic teacher task, wrapped in DistributedDataParallel: the forward and the backward are
estc's (loss_reste's torch.autograd.Function), DDP all-reduces the gradients. At the end the
ranks compare their parameters; rank 0 prints (and with --out writes) the losses and the result.
"""
import argparse
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP


class BinaryMLP(torch.nn.Module):
    """The bnn example's parameters, I -> H -> H -> K; the loss is the generated loss_reste."""

    def __init__(self, bnn, i, h, k, o):
        super().__init__()
        g = torch.Generator().manual_seed(0)  # the same initial weights on every rank
        self.w1 = torch.nn.Parameter(torch.randn(i, h, generator=g) * 0.5)
        self.b1 = torch.nn.Parameter(torch.zeros(h))
        self.w2 = torch.nn.Parameter(torch.randn(h, h, generator=g) * 0.5)
        self.b2 = torch.nn.Parameter(torch.zeros(h))
        self.w3 = torch.nn.Parameter(torch.randn(h, k, generator=g) * 0.5)
        self.b3 = torch.nn.Parameter(torch.zeros(k))
        self.bnn, self.o = bnn, o

    def forward(self, x, labels):
        return self.bnn.loss_reste(x, self.w1, self.b1, self.w2, self.b2, self.w3, self.b3, labels, o=self.o)


def teacher_task(n, i, k):
    """Inputs and the labels a fixed random linear teacher gives them (the same on every rank)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, i, generator=g)
    return x, torch.argmax(x @ torch.randn(i, k, generator=g), dim=1)


def run(rank, world, args, port):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    sys.path.insert(0, args.gen)
    import bnn  # the generated module, beside its estc_torch.py

    model = DDP(BinaryMLP(bnn, 16, 32, 4, args.o))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    x, labels = teacher_task(1024, 16, 4)
    losses = []
    for step in range(args.steps):
        # Each rank takes its own slice of the step's global batch.
        at = (step * args.batch * world + rank * args.batch) % (x.shape[0] - args.batch)
        loss = model(x[at:at + args.batch], labels[at:at + args.batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg = loss.detach().clone()
        dist.all_reduce(avg)
        losses.append(avg.item() / world)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        diff = max((g - gathered[0]).abs().max().item() for g in gathered)
        result = {"world": world, "losses": losses, "max_param_diff": diff, "parameters": flat.numel()}
        print(f"{world} ranks, {args.steps} steps: loss {losses[0]:.4f} -> {losses[-1]:.4f}, ranks' parameters differ by at most {diff}")
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gen", required=True, help="folder with bnn.py from: estc build examples/bnn/bnn.est --emit torch --out-dir GEN")
    p.add_argument("--world", type=int, default=2)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--o", type=float, default=2.0, help="ReSTE's power")
    p.add_argument("--out", help="write the losses and the parameter check as JSON here")
    args = p.parse_args()
    args.gen = os.path.abspath(args.gen)
    mp.spawn(run, args=(args.world, args, free_port()), nprocs=args.world, join=True)
