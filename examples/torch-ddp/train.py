"""Data-parallel training of an estc binary network with its ReSTE estimator, from the PyTorch
module `estc build --emit torch` generates (README.md beside this file).

--model bnn: examples/bnn's binary MLP; --model cnn: examples/bnn-cnn's binary CNN. N processes
(torch.multiprocessing.spawn, or the ones torchrun starts) on the gloo backend (NCCL on GPUs), each
on its own slice of every step's global batch, the model wrapped in DistributedDataParallel: the
forward and the backward are estc's (loss_reste's torch.autograd.Function), DDP all-reduces the
gradients. At the end the ranks compare their parameters; rank 0 prints (and with --out writes)
the losses and the result.
"""
import argparse
import json
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402  (beside this file)


def data(args):
    """(train_x, train_y, test_x, test_y, description), the same tensors on every rank."""
    if args.model == "bnn":
        x, y = models.teacher_task()
        return x, y, None, None, "synthetic teacher task, 1024 x 16, 4 classes"
    if args.data != "synthetic":
        real = models.fashion_mnist(args.data)
        if real is not None:
            return (*real, f"Fashion-MNIST from {args.data}")
        if args.data != models.FASHION_MNIST:
            raise SystemExit(f"train.py: no MNIST-format IDX files in {args.data}")
        print(f"note: no Fashion-MNIST in {args.data} (apt-get install dataset-fashion-mnist); using the synthetic image task", flush=True)
    return (*models.synthetic_images(), "synthetic 28x28 image task, 10 classes")


def run(rank, world, args, port):
    if port is not None:
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    cuda = args.backend == "nccl"
    dist.init_process_group(args.backend, rank=rank, world_size=world)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    sys.path.insert(0, args.gen)
    if args.model == "bnn":
        import bnn as gen  # the generated module, beside its estc_torch.py
        net = models.BinaryMLP(gen)
    else:
        import cnn as gen
        net = models.BinaryCNN(gen, args.c1, args.c2)
    net = net.to(device)
    model = DDP(net, device_ids=[device.index] if cuda else None)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps)
    train_x, train_y, test_x, test_y, what = data(args)
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    # One permutation per pass over the data, the same on every rank; each rank takes its slice of
    # every step's global batch (world x batch examples), as a DistributedSampler would.
    order = torch.Generator().manual_seed(args.seed)
    perm = torch.randperm(train_x.shape[0], generator=order)
    per_pass = train_x.shape[0] // (args.batch * world)
    losses = []
    start = time.time()
    for step in range(args.steps):
        if step > 0 and step % per_pass == 0:
            perm = torch.randperm(train_x.shape[0], generator=order)
        at = (step % per_pass) * args.batch * world + rank * args.batch
        idx = perm[at:at + args.batch]
        o = models.reste_o(step, args.steps, args.o_end)
        loss = model(train_x[idx].to(device), train_y[idx].to(device), o)
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
        with torch.no_grad():
            for name in net.binary:  # BinaryConnect: latent binary weights stay in [-1, 1]
                getattr(net, name).clamp_(-1, 1)
        avg = loss.detach().clone()
        dist.all_reduce(avg)
        losses.append(avg.item() / world)
        if rank == 0 and args.log_every and (step + 1) % args.log_every == 0:
            print(f"step {step + 1}/{args.steps}: loss {losses[-1]:.4f} (o = {o:.3f}, {time.time() - start:.1f} s)", flush=True)
    seconds = time.time() - start
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        diff = max((g - gathered[0]).abs().max().item() for g in gathered)
        result = {"model": args.model, "data": what, "world": world, "steps": args.steps, "batch_per_rank": args.batch, "losses": losses, "max_param_diff": diff, "parameters": flat.numel(), "seconds": seconds}
        line = f"{args.model}, {world} ranks x batch {args.batch}, {args.steps} steps on {what}: loss {losses[0]:.4f} -> {losses[-1]:.4f} in {seconds:.1f} s; ranks' parameters differ by at most {diff}"
        if args.model == "cnn" and args.test_limit != 0:
            n = test_x.shape[0] if args.test_limit < 0 else args.test_limit
            result["test_accuracy"] = net.to("cpu").accuracy(train_x, test_x[:n], test_y[:n])
            line += f"; test accuracy {100 * result['test_accuracy']:.2f}% on {n} images"
        print(line, flush=True)
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
    p.add_argument("--gen", required=True, help="folder with the generated module: estc build examples/bnn/bnn.est (or examples/bnn-cnn/cnn.est) --emit torch --out-dir GEN")
    p.add_argument("--model", choices=["bnn", "cnn"], default="bnn")
    p.add_argument("--world", type=int, default=2, help="processes to spawn (ignored under torchrun, which sets WORLD_SIZE)")
    p.add_argument("--backend", choices=["gloo", "nccl"], default="gloo", help="nccl: one CUDA device per process")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=64, help="examples per rank and step")
    p.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate, cosine-decayed to 0")
    p.add_argument("--o-end", type=float, default=3.0, help="ReSTE's final power (annealed from 1)")
    p.add_argument("--data", default=models.FASHION_MNIST, help="cnn: a folder with the four MNIST IDX files, or 'synthetic'")
    p.add_argument("--limit", type=int, default=0, help="cnn: train on the first N images only")
    p.add_argument("--test-limit", type=int, default=-1, help="cnn: test on the first N images (0: no test, -1: all)")
    p.add_argument("--c1", type=int, default=16)
    p.add_argument("--c2", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--log-every", type=int, default=0)
    p.add_argument("--out", help="write the losses and the parameter check as JSON here")
    args = p.parse_args()
    args.gen = os.path.abspath(args.gen)
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        # Started by torchrun: the rendezvous set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT.
        run(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args, None)
    else:
        mp.spawn(run, args=(args.world, args, free_port()), nprocs=args.world, join=True)
