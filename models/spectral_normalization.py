"""Spectral normalization (Miyato et al. 2018, "Spectral Normalization for GANs", Algorithm 1).

A spectrally normalised layer uses W_SN = W / sigma(W) in its forward pass,
where sigma(W) is the largest singular value of its weight matrix W,
estimated by power iteration:

    v <- W^T u / ||W^T u||,   u <- W v / ||W v||,   sigma(W) = u^T W v    (Algorithm 1)

with one power iteration per update of the network (the paper's setting:
"one power iteration is sufficient", Section 2.1, since W changes little
between updates). u and v are non-trainable weights: saved with the layer and
in checkpoints, so a resumed run continues the same estimate. The gradient
flows through W / sigma(W) with u and v held constant (the paper's Eq. 12:
sigma = u^T W v with u, v fixed, so d sigma / d W = u v^T).

Unlike `keras.layers.SpectralNormalization` (Keras 3.15), nothing is assigned
back into the kernel: the kernel is reparametrised, not projected. And the
power iteration is not done by calling the layer, but by `power_iteration()`
once per critic update (`AdversarialModel` does it before each
`critic_step`): a critic called several times in one update (real, fake and,
for WGAN-GP, interpolated samples) advances its estimate once, and a critic
called for the generator's update or for evaluation not at all.

The layers are Keras' Dense and Conv2D with their `kernel` property
returning W / sigma(W); in Keras' layout W is [fan_in, units], the paper's
transposed, so below u has the output's size and v the input's. For a
convolution the kernel [kh, kw, c_in, c_out] is reshaped to a matrix
[kh * kw * c_in, c_out], as in the paper (Section 2.1 and Appendix); that
bounds the spectral norm of this matrix, not of the convolution as a linear
operator on images, which can be larger (the paper notes the same).
"""

import keras
from keras import ops

EPSILON = 1e-12  # in the norms, as in the authors' chainer code (l2normalize eps)


def _l2_normalize(x):
    return x / (ops.sqrt(ops.sum(ops.square(x))) + EPSILON)


class _SpectralKernel:
    """What the spectrally normalised Dense and Conv2D share: u, v, the power iteration, sigma."""

    def _build_spectral_state(self, seed):
        matrix = self._kernel_matrix()
        fan_in, units = matrix.shape
        self.u = self.add_weight(shape=(units,), name="sn_u", trainable=False,
                                 initializer=keras.initializers.RandomNormal(seed=seed))
        # v as Algorithm 1's first step would make it, so sigma is defined
        # before the first update (e.g. for a model summary or evaluation).
        self.v = self.add_weight(shape=(fan_in,), name="sn_v", trainable=False,
                                 initializer="zeros")
        self.power_iterations = self.add_weight(shape=(), name="sn_power_iterations",
                                                dtype="int64", trainable=False,
                                                initializer="zeros")
        self.u.assign(_l2_normalize(self.u))
        self.v.assign(_l2_normalize(ops.matmul(matrix, self.u)))

    def _kernel_matrix(self):
        """The raw kernel as the matrix [fan_in, units] (float32, the variable's dtype)."""
        kernel = self._kernel
        return ops.reshape(kernel, (-1, kernel.shape[-1]))

    def power_iteration(self):
        """One step of Algorithm 1 on the current kernel: v <- W^T u, u <- W v, normalised."""
        from models import distribute

        matrix = ops.stop_gradient(ops.convert_to_tensor(self._kernel_matrix()))
        distribute.update(self.v, lambda v: _l2_normalize(ops.matmul(matrix, self.u)))
        distribute.update(self.u, lambda u: _l2_normalize(ops.matmul(self.v, matrix)))
        distribute.update(self.power_iterations, lambda n: n + 1)

    def sigma(self):
        """sigma(W) = u^T W v with u, v constant (the gradient flows through W only)."""
        matrix = ops.convert_to_tensor(self._kernel_matrix())
        u = ops.stop_gradient(ops.cast(ops.convert_to_tensor(self.u), matrix.dtype))
        v = ops.stop_gradient(ops.cast(ops.convert_to_tensor(self.v), matrix.dtype))
        return ops.sum(ops.matmul(v, matrix) * u)

    @property
    def kernel(self):
        kernel = super().kernel
        return kernel / ops.cast(self.sigma(), kernel.dtype)

    def get_config(self):
        return dict(super().get_config(), sn_seed=self.sn_seed)

    # Keras' own save of Dense / Conv2D writes `self.kernel`, here W / sigma,
    # and leaves u and v out; these write the raw kernel and the estimate.
    # (No quantization or LoRA for these layers.)
    def _saved_variables(self):
        bias = [self.bias] if self.bias is not None else []
        return [self._kernel, *bias, self.u, self.v, self.power_iterations]

    def save_own_variables(self, store):
        if self.built:
            for i, variable in enumerate(self._saved_variables()):
                store[str(i)] = variable

    def load_own_variables(self, store):
        variables = self._saved_variables()
        if len(store.keys()) != len(variables):
            raise ValueError(f"layer {self.name!r} has {len(variables)} variables, the file "
                             f"{len(store.keys())}")
        for i, variable in enumerate(variables):
            variable.assign(store[str(i)])


@keras.saving.register_keras_serializable(package="wgan_reproduction")
class SpectralDense(_SpectralKernel, keras.layers.Dense):
    """keras.layers.Dense computing with W / sigma(W) (Miyato et al. 2018, Algorithm 1)."""

    def __init__(self, units, sn_seed=None, **kwargs):
        super().__init__(units, **kwargs)
        self.sn_seed = sn_seed

    def build(self, input_shape):
        super().build(input_shape)
        self._build_spectral_state(self.sn_seed)


@keras.saving.register_keras_serializable(package="wgan_reproduction")
class SpectralConv2D(_SpectralKernel, keras.layers.Conv2D):
    """keras.layers.Conv2D computing with W / sigma(W), W its kernel as a [kh*kw*c_in, c_out] matrix."""

    def __init__(self, filters, kernel_size, sn_seed=None, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.sn_seed = sn_seed

    def build(self, input_shape):
        super().build(input_shape)
        self._build_spectral_state(self.sn_seed)


def spectral_layers(network):
    """The spectrally normalised layers of `network` (nested models included), in order."""
    found = []
    for layer in getattr(network, "layers", ()):
        if isinstance(layer, _SpectralKernel):
            found.append(layer)
        found += spectral_layers(layer)
    return found


def spectral_norms(network):
    """{layer name: sigma of its raw kernel as currently estimated} for `network`."""
    return {layer.name: float(layer.sigma()) for layer in spectral_layers(network)}
