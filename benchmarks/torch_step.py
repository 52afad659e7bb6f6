"""The WGAN-GP authors' MNIST step written plainly in PyTorch, for a side-by-side timing.

Issue 6 asks that our conv step reach at least parity with "a straightforward
PyTorch eager implementation of the same step". This module is that
implementation, written the way the common PyTorch ports of the authors'
`gan_mnist.py` are: `nn.Sequential` networks in NCHW, `torch.optim.Adam`,
`torch.autograd.grad(..., create_graph=True)` for the penalty, eager
execution, and `loss.item()` once per generator iteration (as our `fit` brings
each iteration's logs to the host).

The same algorithm as `models.WGANGP` with the `wgan_gp_mnist` preset
(Gulrajani et al. 2017, Algorithm 1): batch 50, n_critic 5, lambda 10, Adam
(1e-4, 0.5, 0.9), a fresh real batch per critic update, fake = G(z) outside the
critic's graph, eps ~ U[0, 1] per example.

Two padding conventions:

- `aligned=False` (timed): PyTorch's usual symmetric padding 2 for the 5x5
  stride-2 convs and `padding=2, output_padding=1` for the transposed convs.
  Same shapes and FLOPs as TensorFlow's 'same', windows shifted by one pixel.
- `aligned=True` (checked): TensorFlow's 'same' alignment exactly (pad 1 before
  and 2 after where TF does; transposed convs cropped as TF crops them), so
  that with the Keras model's weights copied in, `check_against_keras` can
  compare losses and gradients number by number.

torch is not a dependency of the project (the registry's newest torch brings
several GB of CUDA packages); `pip install torch==2.13.0` installs the CPU
build that this machine has on disk. `require_torch` says so when it is missing.
"""

import time

import numpy as np

LATENT_DIM = 128
IMAGE = 28


def require_torch():
    """Import torch, or raise a one-line error saying how to install it."""
    try:
        import torch
    except ImportError as error:
        raise SystemExit(
            "the torch path needs PyTorch, which is not a dependency of this project: "
            "pip install torch==2.13.0 (the CPU build)") from error
    return torch


def networks(dim=64, aligned=False):
    """(generator, critic) of gan_mnist.py in PyTorch (NCHW), tanh output as ours."""
    torch = require_torch()
    nn = torch.nn

    class Crop(nn.Module):
        """Keep the top-left size x size pixels (gan_mnist.py's `output[:, :, :7, :7]`)."""

        def __init__(self, size):
            super().__init__()
            self.size = size

        def forward(self, x):
            return x[:, :, :self.size, :self.size]

    def deconv(c_in, c_out, size_out):
        if aligned:  # TF 'same': full transposed conv cropped by 1 before, the rest after
            return [nn.ConvTranspose2d(c_in, c_out, 5, 2, padding=1), Crop(size_out)]
        return [nn.ConvTranspose2d(c_in, c_out, 5, 2, padding=2, output_padding=1)]

    def conv(c_in, c_out, size_in):
        if aligned and size_in % 2 == 0:  # TF 'same' pads 1 before and 2 after
            return [nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(c_in, c_out, 5, 2)]
        return [nn.Conv2d(c_in, c_out, 5, 2, padding=2)]

    generator = nn.Sequential(
        nn.Linear(LATENT_DIM, 4 * 4 * 4 * dim), nn.ReLU(),
        nn.Unflatten(1, (4 * dim, 4, 4)),
        *deconv(4 * dim, 2 * dim, 8), nn.ReLU(),
        Crop(7),
        *deconv(2 * dim, dim, 14), nn.ReLU(),
        *deconv(dim, 1, 28), nn.Tanh())
    critic = nn.Sequential(
        *conv(1, dim, 28), nn.LeakyReLU(0.2),
        *conv(dim, 2 * dim, 14), nn.LeakyReLU(0.2),
        *conv(2 * dim, 4 * dim, 7), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * 4 * 4 * dim, 1))
    return generator, critic


def critic_loss(critic, real, fake, eps, penalty_weight=10.0):
    """E[D(fake)] - E[D(real)] + lambda E[(||grad D(x_hat)||_2 - 1)^2] (WGAN-GP Eq. 3)."""
    torch = require_torch()
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    scores = critic(x_hat)
    grads, = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grads.flatten(1).norm(dim=1)
    penalty = ((norms - 1.0) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + penalty_weight * penalty


def make_step(generator, critic, batch_size=50, n_critic=5, num_batches=16, seed=0):
    """step(iteration) -> critic loss (a float): one generator iteration, eager."""
    torch = require_torch()
    torch.manual_seed(seed)
    data = torch.from_numpy(np.random.default_rng(seed).uniform(
        -1.0, 1.0, (num_batches, batch_size, 1, IMAGE, IMAGE)).astype("float32"))
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    d_params = list(critic.parameters())

    def step(iteration):
        for p in d_params:
            p.requires_grad_(True)
        for j in range(n_critic):
            real = data[(iteration * n_critic + j) % num_batches]
            with torch.no_grad():
                fake = generator(torch.randn(batch_size, LATENT_DIM))
            eps = torch.rand(batch_size, 1, 1, 1)
            d_loss = critic_loss(critic, real, fake, eps)
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
        for p in d_params:  # the generator update does not need the critic's weight gradients
            p.requires_grad_(False)
        g_loss = -critic(generator(torch.randn(batch_size, LATENT_DIM))).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        return d_loss.item()

    return step


class TorchTimer:
    """Times the eager PyTorch step, one block of `iterations` per `block()` (as benchmarks.train_step)."""

    def __init__(self, warmup, iterations, dim=64, batch_size=50):
        torch = require_torch()
        self.step = make_step(*networks(dim), batch_size=batch_size)
        self.iterations, self.counter = iterations, 0
        start = time.perf_counter()
        self._steps(warmup)
        self.info = {"warmup_seconds": time.perf_counter() - start,
                     "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                     "mkldnn": bool(torch.backends.mkldnn.is_available())}

    def _steps(self, n):
        for _ in range(n):
            self.step(self.counter)
            self.counter += 1

    def block(self):
        from benchmarks.train_step import wall_and_cpu

        return wall_and_cpu(self._steps, self.iterations)


# --- the check that this is the same step ------------------------------------------


def copy_keras_weights(keras_generator, keras_critic, generator, critic, dim=64):
    """Load the Keras `wgan_gp_mnist` networks' weights into the aligned PyTorch ones.

    Kernels move from Keras' layouts to PyTorch's: Dense [in, out] -> [out, in];
    Conv2D [kh, kw, in, out] -> [out, in, kh, kw]; Conv2DTranspose
    [kh, kw, out, in] -> [in, out, kh, kw] (both are adjoints of the same
    correlation, so no flip). Where a Dense meets an NHWC <-> NCHW reshape the
    (h, w, c) order of its units becomes (c, h, w).
    """
    torch = require_torch()
    c = 4 * dim

    def weights(model):
        return {layer.name: [w.numpy() for w in layer.weights]
                for layer in model.layers if layer.weights}

    kg, kd = weights(keras_generator), weights(keras_critic)
    g_layers = [m for m in generator if list(m.parameters())]
    d_layers = [m for m in critic if list(m.parameters())]
    kernel, bias = kg["project"]
    # project's units are (h, w, c) in Keras, (c, h, w) after Unflatten in PyTorch.
    kernel = kernel.reshape(LATENT_DIM, 4, 4, c).transpose(0, 3, 1, 2).reshape(LATENT_DIM, -1)
    bias = bias.reshape(4, 4, c).transpose(2, 0, 1).reshape(-1)
    pairs = [(g_layers[0], kernel.T, bias)]
    for layer, name in zip(g_layers[1:], ("deconv_1", "deconv_2", "deconv_3")):
        pairs.append((layer, kg[name][0].transpose(3, 2, 0, 1), kg[name][1]))
    for i, layer in enumerate(d_layers[:3]):
        pairs.append((layer, kd[f"conv_{i}"][0].transpose(3, 2, 0, 1), kd[f"conv_{i}"][1]))
    kernel, bias = kd["score"]
    # Flatten sees (h, w, c) in Keras and (c, h, w) in PyTorch.
    kernel = kernel.reshape(4, 4, c, 1).transpose(2, 0, 1, 3).reshape(-1, 1)
    pairs.append((d_layers[3], kernel.T, bias))
    with torch.no_grad():
        for layer, w, b in pairs:
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            layer.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))


def check_against_keras(seed=0, batch_size=8, dim=16):
    """Largest relative differences between the PyTorch and the Keras WGAN-GP losses and grads.

    Same weights (copied), same z, real batch and eps: the critic loss of
    Eq. 3 with its penalty, its gradient with respect to every critic weight,
    and the generator loss with its gradient with respect to every generator
    weight. A small dim keeps it quick; the layers' shapes are the model's.
    """
    torch = require_torch()
    import tensorflow as tf

    from models import image_networks, losses

    kg = image_networks.wgan_gp_mnist_generator(LATENT_DIM, dim)
    kd = image_networks.wgan_gp_mnist_critic(dim)
    generator, critic = networks(dim, aligned=True)
    copy_keras_weights(kg, kd, generator, critic, dim)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(batch_size, LATENT_DIM)).astype("float32")
    real = rng.uniform(-1, 1, (batch_size, IMAGE, IMAGE, 1)).astype("float32")
    eps = rng.uniform(size=(batch_size, 1, 1, 1)).astype("float32")

    # Keras: the model's own loss functions.
    with tf.GradientTape(persistent=True) as tape:
        fake = kg(z)
        x_hat = losses.interpolate(real, tf.stop_gradient(fake), eps)
        d_loss = (losses.wasserstein_critic_loss(kd(real), kd(tf.stop_gradient(fake)))
                  + 10.0 * losses.gradient_penalty(kd, x_hat)[0])
        g_loss = losses.wasserstein_generator_loss(kd(fake))
    tf_values = {"critic_loss": d_loss.numpy(), "generator_loss": g_loss.numpy(),
                 "fake": fake.numpy().transpose(0, 3, 1, 2)}
    tf_d_grads = [g.numpy() for g in tape.gradient(d_loss, kd.trainable_variables)]
    tf_g_grads = [g.numpy() for g in tape.gradient(g_loss, kg.trainable_variables)]

    # PyTorch: the module's own loss.
    to_nchw = (lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))))
    fake_t = generator(torch.from_numpy(z))
    d_loss_t = critic_loss(critic, to_nchw(real), fake_t.detach(), to_nchw(eps))
    d_grads_t = torch.autograd.grad(d_loss_t, list(critic.parameters()))
    g_loss_t = -critic(fake_t).mean()
    g_grads_t = torch.autograd.grad(g_loss_t, list(generator.parameters()))

    def relative(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))

    # Gradients compared through the same layout maps as the weights: the sum
    # of squares and the sum per tensor are layout-free.
    def norms(grads):
        return np.array([[np.sqrt(np.sum(np.square(g))), np.sum(g)] for g in grads])

    return {
        "critic_loss": relative(d_loss_t.item(), tf_values["critic_loss"]),
        "generator_loss": relative(g_loss_t.item(), tf_values["generator_loss"]),
        "fake": relative(fake_t.detach().numpy(), tf_values["fake"]),
        "critic_gradients": relative(norms([g.numpy() for g in d_grads_t]), norms(tf_d_grads)),
        "generator_gradients": relative(norms([g.numpy() for g in g_grads_t]),
                                        norms(tf_g_grads)),
        "values": {"critic_loss_tf": float(tf_values["critic_loss"]),
                   "critic_loss_torch": d_loss_t.item(),
                   "generator_loss_tf": float(tf_values["generator_loss"]),
                   "generator_loss_torch": g_loss_t.item()},
        "settings": {"batch_size": batch_size, "dim": dim, "seed": seed}}
