"""Network builders. Each returns a built functional `keras.Model`."""

import keras


def output_dtype():
    """The dtype of a network's output layer: float32 under a mixed policy, else the policy's.

    Under `mixed_float16` / `mixed_bfloat16` the hidden layers compute in 16
    bits; the output layer (a critic's one-unit score, a generator's tanh or
    linear output) is cheap, and computing it in float32 (the Keras
    mixed-precision guide's advice for model outputs) keeps unbounded
    Wasserstein scores clear of float16's 65504 ceiling, and makes a
    generator trained in 16 bits hand out float32 samples, which NumPy, PIL
    and other frameworks take as they are. None (the global policy)
    otherwise, so float32 networks are built exactly as before.
    """
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


def toy_mlp(input_dim, output_dim, hidden_units=512, hidden_layers=3, name=None,
            output_dtype=None, spectral=False):
    """The toy generator / critic of the WGAN-GP authors' gan_toy.py (Gulrajani et al. 2017).

    `hidden_layers` ReLU layers of `hidden_units` (3 x 512 in the paper's toy
    experiments), then a linear output. As in their tflib code, the ReLU
    layers use He-uniform initialisation and the output layer Glorot-uniform;
    biases start at zero. `spectral`: every layer computes with W / sigma(W)
    (Miyato et al. 2018; for critics).
    """
    dense = _dense_layer(spectral)
    inputs = keras.Input((input_dim,))
    x = inputs
    for i in range(hidden_layers):
        x = dense(hidden_units, activation="relu", kernel_initializer="he_uniform",
                  name=f"relu_{i}")(x)
    outputs = dense(output_dim, name="linear", dtype=output_dtype)(x)
    return keras.Model(inputs, outputs, name=name)


def _dense_layer(spectral):
    """keras.layers.Dense, or its spectrally normalised version."""
    if spectral:
        from models.spectral_normalization import SpectralDense

        return SpectralDense
    return keras.layers.Dense


def toy_generator(latent_dim=2, data_dim=2, **kwargs):
    """Toy MLP generator: z (2-d N(0, 1) in the paper) -> a 2-d point (float32)."""
    return toy_mlp(latent_dim, data_dim, name="generator", output_dtype=output_dtype(), **kwargs)


def toy_critic(data_dim=2, **kwargs):
    """Toy MLP critic / discriminator: a 2-d point -> one unbounded score (no sigmoid)."""
    return toy_mlp(data_dim, 1, name="critic", output_dtype=output_dtype(), **kwargs)


def _orthogonal():
    # tf.orthogonal_initializer(gain=0.8) on every layer, biases at zero.
    return keras.initializers.Orthogonal(gain=0.8)


def metz_generator(latent_dim=256, data_dim=2, hidden_units=128):
    """The generator of Metz et al. 2017 ("Unrolled GANs", Appendix A) on the 8-Gaussian ring.

    z (256-d N(0, I)) -> 2 ReLU layers of 128 -> a linear 2-d point, every
    layer initialised orthogonal with gain 0.8 (their code, as reimplemented
    in locuslab/gradient_regularized_gan `unrolled.py`).
    """
    inputs = keras.Input((latent_dim,))
    x = inputs
    for i in range(2):
        x = keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=_orthogonal(),
                               name=f"relu_{i}")(x)
    outputs = keras.layers.Dense(data_dim, kernel_initializer=_orthogonal(), name="linear",
                                 dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="generator")


def metz_critic(data_dim=2, hidden_units=128, spectral=False):
    """The discriminator of Metz et al. 2017: x / 4 -> 1 ReLU layer of 128 -> one logit.

    Orthogonal initialisation with gain 0.8, as `metz_generator`. The score
    is unbounded (no sigmoid), so the same network serves as a GAN
    discriminator (on logits) and as a Wasserstein critic. `spectral`: both
    layers compute with W / sigma(W) (Miyato et al. 2018).
    """
    dense = _dense_layer(spectral)
    inputs = keras.Input((data_dim,))
    x = keras.layers.Rescaling(0.25, name="input_over_4")(inputs)
    x = dense(hidden_units, activation="relu", kernel_initializer=_orthogonal(), name="relu_0")(x)
    outputs = dense(1, kernel_initializer=_orthogonal(), name="linear", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="critic")
