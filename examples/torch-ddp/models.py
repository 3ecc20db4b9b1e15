"""The two binary networks examples/torch-ddp trains, with their data (README.md beside this file).

Each model holds the parameters of an estc example as torch.nn.Parameters and computes its
training loss with the generated `loss_reste` (the forward and the ReSTE backward are estc's, from
`estc build --emit torch`); nothing here differentiates anything itself.

- BinaryMLP: examples/bnn/bnn.est, I -> H -> H -> K with sign weights and activations, on a
  synthetic teacher task (a fixed random linear teacher labels Gaussian inputs).
- BinaryCNN: examples/bnn-cnn/cnn.est, the VGG-style binary CNN for 28x28 images, initialised as
  examples/bnn-cnn/model.js does, its binary convolutions' latent weights clipped to [-1, 1] after
  each step (BinaryConnect), on Fashion-MNIST when it is installed, else a synthetic image task.
"""
import gzip
import math
import os
import struct

import torch

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
# Fashion-MNIST's training-split pixel mean and population std of byte / 255 (examples/lib/mnist.js).
FASHION_MEAN, FASHION_STD = 0.28604, 0.35302


def reste_o(step, steps, o_end):
    """ReSTE's power at `step` of `steps`: o = 1 + (1 - cos(pi/2 * t/T)) (o_end - 1), runtime/schedules.ts's
    resteO with the step in place of the epoch (the official loop anneals per epoch; a short DDP run
    has fewer epochs than steps)."""
    return 1 + (1 - math.cos(math.pi / 2 * step / steps)) * (o_end - 1)


class BinaryMLP(torch.nn.Module):
    """examples/bnn/bnn.est's parameters, I -> H -> H -> K; the loss is the generated loss_reste."""

    binary = ()

    def __init__(self, gen, i=16, h=32, k=4):
        super().__init__()
        g = torch.Generator().manual_seed(0)  # the same initial weights on every rank
        self.w1 = torch.nn.Parameter(torch.randn(i, h, generator=g) * 0.5)
        self.b1 = torch.nn.Parameter(torch.zeros(h))
        self.w2 = torch.nn.Parameter(torch.randn(h, h, generator=g) * 0.5)
        self.b2 = torch.nn.Parameter(torch.zeros(h))
        self.w3 = torch.nn.Parameter(torch.randn(h, k, generator=g) * 0.5)
        self.b3 = torch.nn.Parameter(torch.zeros(k))
        self.gen = gen

    def forward(self, x, labels, o):
        return self.gen.loss_reste(x, self.w1, self.b1, self.w2, self.b2, self.w3, self.b3, labels, o=o)


class BinaryCNN(torch.nn.Module):
    """examples/bnn-cnn/cnn.est's parameters: conv 1->C1 (real), three binary convs, linear C2*49 -> K.

    Initialised as examples/bnn-cnn/model.js's initParams (with torch's generator, so not the same
    draws): the first layer Kaiming-normal, the binary layers' latent weights uniform in [-1, 1],
    the last layer normal with std 1/sqrt(fan-in), batch norms at gamma 1, beta 0.
    """

    binary = ("w2", "w3", "w4")

    def __init__(self, gen, c1=16, c2=32, k=10):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        uniform = lambda *shape: torch.nn.Parameter(torch.rand(*shape, generator=g) * 2 - 1)
        f = c2 * 49
        self.w1 = torch.nn.Parameter(torch.randn(c1, 1, 3, 3, generator=g) * math.sqrt(2 / 9))
        self.w2, self.w3, self.w4 = uniform(c1, c1, 3, 3), uniform(c2, c1, 3, 3), uniform(c2, c2, 3, 3)
        for n, c in (("1", c1), ("2", c1), ("3", c2), ("4", c2)):
            setattr(self, "g" + n, torch.nn.Parameter(torch.ones(c)))
            setattr(self, "b" + n, torch.nn.Parameter(torch.zeros(c)))
        self.w5 = torch.nn.Parameter(torch.randn(f, k, generator=g) / math.sqrt(f))
        self.b5 = torch.nn.Parameter(torch.zeros(k))
        self.gen = gen

    def params(self):
        return [self.w1, self.g1, self.b1, self.w2, self.g2, self.b2, self.w3, self.g3, self.b3, self.w4, self.g4, self.b4, self.w5, self.b5]

    def forward(self, x, labels, o):
        return self.gen.loss_reste(x, labels, *self.params(), o=o)

    @torch.no_grad()
    def accuracy(self, train_x, test_x, test_y, batch=100, stat_batches=20):
        """Test accuracy of the binary network in inference mode, with precise BN: each layer's
        population statistics estimated under the final weights from `stat_batches` equal training
        batches (binary_stats), then binary_eval on the test set, as examples/bnn-cnn/run.js does."""
        p = self.params()
        sums = None
        n = min(stat_batches, train_x.shape[0] // batch)
        for s in range(n):
            st = self.gen.binary_stats(train_x[s * batch:(s + 1) * batch], *p[:10])
            # Per layer (mean, E[x^2] = variance + mean^2): the union of equal batches averages both.
            moments = [st[j] if j % 2 == 0 else st[j] + st[j - 1] ** 2 for j in range(8)]
            sums = moments if sums is None else [a + b for a, b in zip(sums, moments)]
        means = [t / n for t in sums]
        stats = [means[j] if j % 2 == 0 else means[j] - means[j - 1] ** 2 for j in range(8)]
        right = 0
        for s in range(0, test_x.shape[0], batch):
            logits = self.gen.binary_eval(test_x[s:s + batch], *p, *stats)
            right += int((logits.argmax(dim=1) == test_y[s:s + batch]).sum())
        return right / test_x.shape[0]


def teacher_task(n=1024, i=16, k=4):
    """Inputs and the labels a fixed random linear teacher gives them (the same on every rank)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, i, generator=g)
    return x, torch.argmax(x @ torch.randn(i, k, generator=g), dim=1)


def _idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    shape = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    return torch.frombuffer(bytearray(data[4 + 4 * rank:]), dtype=torch.uint8).reshape(shape)


def fashion_mnist(folder):
    """(train_x, train_y, test_x, test_y) from the four IDX files in `folder` (.gz or not), images
    standardised with the training split's statistics as examples/lib/mnist.js does; None when absent."""
    def find(stem):
        for name in (stem, stem + ".gz"):
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        return None

    stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    paths = [find(s) for s in stems]
    if any(p is None for p in paths):
        return None
    tx, ty, vx, vy = (_idx(p) for p in paths)
    image = lambda a: ((a.to(torch.float32) / 255 - FASHION_MEAN) / FASHION_STD).reshape(-1, 1, 28, 28)
    return image(tx), ty.long(), image(vx), vy.long()


def synthetic_images(n=2048, k=10, seed=1):
    """A synthetic 28x28 task: class c's images are a fixed smooth random template plus unit noise
    (each template a 7x7 draw upsampled 4x), split 3:1 into train and test."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.randn(k, 1, 7, 7, generator=g).repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    y = torch.randint(0, k, (n,), generator=g)
    x = templates[y] + torch.randn(n, 1, 28, 28, generator=g)
    cut = n * 3 // 4
    return x[:cut], y[:cut], x[cut:], y[cut:]
