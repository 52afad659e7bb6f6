"""Model FLOPs of one generator iteration, counted from the networks' layer shapes.

Only the matrix work is counted (a multiply-add is 2 FLOPs):

- Dense, input [batch, ..., n_in] -> n_out: 2 * n_in * n_out * rows, where
  rows = batch times the product of any middle axes.
- Conv2D, k x k kernel, c_in -> c_out channels, output H_out x W_out:
  2 * k * k * c_in * c_out * H_out * W_out * batch.
- Conv2DTranspose (the gradient of a conv): every *input* pixel scatters a
  k x k x c_out patch, so 2 * k * k * c_in * c_out * H_in * W_in * batch.

Biases, activations, normalisation, the losses, random draws and the
optimizer updates are elementwise (O(parameters) or O(activations)) and are
left out, so this is "model FLOPs" in the MFU sense: the useful work the step
cannot avoid, not what the kernels happen to execute.

A backward pass costs two forward passes: one product for the gradient with
respect to the layer's input and one for the gradient with respect to its
weights, each the size of the forward product. Write F_G and F_D for one
forward pass of the generator and of the critic on one batch. Then:

- GAN / WGAN critic update (Algorithm 1 of both papers): fake = G(z) outside
  the tape (F_G); D(real) and D(fake) (2 F_D); their backward pass to the
  critic's weights (2 * 2 F_D).                          -> F_G + 6 F_D
- WGAN-GP critic update: the same, plus the gradient penalty
  (||grad_x D(x_hat)|| - 1)^2 differentiated with respect to the weights:
  forward D(x_hat) (F_D); the inner backward pass to x_hat, input gradients
  only (F_D); the outer backward pass through both. Through the forward
  pass it costs 2 F_D as usual; every product g_in = g_out . W^T of the inner
  pass depends on the weights twice (through g_out and through W), so its
  derivative is again two products of its own size: 2 F_D.
  The penalty is F_D + F_D + 2 F_D + 2 F_D = 6 F_D.    -> F_G + 12 F_D
  (The ReLU / LeakyReLU masks of the inner pass are piecewise constant: their
  second derivative is zero and adds no products.)
- Generator update: G(z) (F_G) and D(G(z)) (F_D) forward; the backward pass
  goes through the critic for input gradients only (F_D; the critic is not
  updated) and through the generator fully (2 F_G).     -> 3 F_G + 2 F_D
- One generator iteration: n_critic critic updates and one generator update.

So the WGAN-GP iteration is n_critic * (F_G + 12 F_D) + 3 F_G + 2 F_D, and
GAN / WGAN's n_critic * (F_G + 6 F_D) + 3 F_G + 2 F_D. The first layer's
input gradient on real data is counted though nothing needs it (XLA may drop
it); it is one of ~4-8 layers' input products, a few per cent at most.
"""

import math

ALGORITHMS = ("gan", "wgan", "wgan_gp")


def dense_flops(n_in, n_out, rows):
    """Forward FLOPs of a dense layer: 2 * n_in * n_out per row."""
    return 2 * n_in * n_out * rows


def conv2d_flops(kernel_size, c_in, c_out, h_out, w_out, batch):
    """Forward FLOPs of a 2-D convolution: 2 * k * k * c_in * c_out per output pixel."""
    return 2 * kernel_size * kernel_size * c_in * c_out * h_out * w_out * batch


def conv2d_transpose_flops(kernel_size, c_in, c_out, h_in, w_in, batch):
    """Forward FLOPs of a transposed convolution: 2 * k * k * c_in * c_out per input pixel."""
    return 2 * kernel_size * kernel_size * c_in * c_out * h_in * w_in * batch


def _shape(tensor):
    return tuple(tensor.shape)


def layer_flops(layer, batch):
    """Forward FLOPs of one Keras layer on `batch` samples (0 for elementwise layers)."""
    import keras

    if isinstance(layer, keras.Model):  # a nested network
        return forward_flops(layer, batch)
    if isinstance(layer, keras.layers.Dense):
        n_in, n_out = layer.kernel.shape
        middle = math.prod(_shape(layer.input)[1:-1])
        return dense_flops(n_in, n_out, batch * middle)
    if isinstance(layer, keras.layers.Conv2DTranspose):
        # Keras stores a transposed kernel as (k, k, c_out, c_in).
        k_h, k_w, c_out, c_in = layer.kernel.shape
        assert k_h == k_w, "square kernels only"
        if layer.data_format == "channels_first":
            _, _, h_in, w_in = _shape(layer.input)
        else:
            _, h_in, w_in, _ = _shape(layer.input)
        return conv2d_transpose_flops(k_h, c_in, c_out, h_in, w_in, batch)
    if isinstance(layer, keras.layers.Conv2D):
        k_h, k_w, c_in, c_out = layer.kernel.shape
        assert k_h == k_w, "square kernels only"
        if layer.data_format == "channels_first":
            _, _, h_out, w_out = _shape(layer.output)
        else:
            _, h_out, w_out, _ = _shape(layer.output)
        return conv2d_flops(k_h, c_in, c_out, h_out, w_out, batch)
    return 0


def forward_flops(network, batch):
    """Forward FLOPs of a functional Keras network on `batch` samples."""
    return sum(layer_flops(layer, batch) for layer in network.layers)


def critic_update_flops(algorithm, generator_forward, critic_forward):
    """FLOPs of one critic update (see the module docstring)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    per_critic = 12 if algorithm == "wgan_gp" else 6
    return generator_forward + per_critic * critic_forward


def generator_update_flops(generator_forward, critic_forward):
    """FLOPs of one generator update: 3 F_G + 2 F_D."""
    return 3 * generator_forward + 2 * critic_forward


def iteration_flops(algorithm, generator_forward, critic_forward, n_critic):
    """FLOPs of one generator iteration: n_critic critic updates and one generator update."""
    return (n_critic * critic_update_flops(algorithm, generator_forward, critic_forward)
            + generator_update_flops(generator_forward, critic_forward))


def model_iteration_flops(algorithm, generator, critic, batch, n_critic):
    """`iteration_flops` for two Keras networks; returns a dict of the parts and the total."""
    f_g = forward_flops(generator, batch)
    f_d = forward_flops(critic, batch)
    return {"generator_forward": f_g, "critic_forward": f_d,
            "critic_update": critic_update_flops(algorithm, f_g, f_d),
            "generator_update": generator_update_flops(f_g, f_d),
            "per_generator_iteration": iteration_flops(algorithm, f_g, f_d, n_critic)}
