"""Convolutional image networks: DCGAN, the WGAN paper's variants, WGAN-GP critics.

Conventions shared by every builder here (and by `models.resnet_networks`):
each returns a built functional `keras.Model`; images are channels-last float32
in [-1, 1]; a generator maps a latent batch [batch, latent_dim] to images and
ends in tanh; a critic / discriminator maps images to one unbounded score per
sample, shape [batch, 1] (no sigmoid: the GAN losses take logits).

Convolutional generators and critics mirror each other. The image side must be
`base * 2**stages` with `base` in 4..7 and `stages >= 1`: the generator
projects z to a base x base map and doubles it `stages` times with stride-2
transposed convolutions; the critic halves the image `stages` times with
stride-2 convolutions. So 64 px goes 4 -> 8 -> 16 -> 32 -> 64 (DCGAN's Fig. 1),
32 px (CIFAR-10) 4 -> 8 -> 16 -> 32 (the WGAN-GP authors' gan_cifar.py) and
28 px (MNIST) 7 -> 14 -> 28.
"""

import math
import numbers

import keras
import tensorflow as tf

from models.networks import output_dtype

# Radford et al. 2016, Section 4: "All weights were initialized from a
# zero-centered Normal distribution with standard deviation 0.02."
DCGAN_INIT_STDDEV = 0.02
DCGAN_KERNEL_SIZE = 5
LEAKY_RELU_SLOPE = 0.2
# Batch-norm constants of the authors' code (Torch / PyTorch / tflib all use
# eps 1e-5; PyTorch's moving-average momentum 0.1 is Keras' momentum 0.9).
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9
LN_EPSILON = 1e-5  # tflib's Layernorm
CRITIC_NORMALIZATIONS = (None, "layer", "spectral")


def _dcgan_init():
    return keras.initializers.RandomNormal(0.0, DCGAN_INIT_STDDEV)


def batch_norm(name, gamma_initializer="ones"):
    """BatchNormalization with the authors' epsilon and moving-average momentum.

    Built under a distribution strategy of several replicas, it normalises
    with the statistics of the global batch (all-reduced across replicas), as
    one device would, rather than of each replica's share.
    """
    synchronized = tf.distribute.get_strategy().num_replicas_in_sync > 1
    return keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
        gamma_initializer=gamma_initializer, name=name,
        **({"synchronized": True} if synchronized else {}))


def tflib_uniform(he=True, stride=1, in_channels=1, out_channels=1, transposed=False):
    """The uniform initialiser of the WGAN-GP authors' tflib Conv2D / Deconv2D.

    tflib draws kernels from U(-s*sqrt(3), s*sqrt(3)) with s^2 = g / (fan_in +
    fan_out), g = 4 (`he_init`) or 2 (Glorot), where the low-resolution side's
    fan is divided by stride^2 (fan_out for a convolution, fan_in for a
    transposed one). Keras' `fan_avg` variance scaling gives 2*scale /
    (fan_in + fan_out) without the stride correction, so `scale` absorbs it;
    the kernel size cancels. With stride 1 the channel counts cancel too and
    this is VarianceScaling(2, fan_avg, uniform) (he) or Glorot-uniform.
    """
    low, high = (in_channels, out_channels) if transposed else (out_channels, in_channels)
    gain = 2.0 if he else 1.0
    scale = gain * (low + high) / (low / stride**2 + high)
    return keras.initializers.VarianceScaling(scale, mode="fan_avg", distribution="uniform")


def check_image_shape(image_shape):
    """(height, width, channels) as ints; ValueError unless it is three positive ints."""
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(isinstance(n, numbers.Integral) and n > 0 for n in shape):
        raise ValueError(f"image_shape must be (height, width, channels) of positive "
                         f"ints, got {image_shape!r}")
    return tuple(int(n) for n in shape)


def stride2_stages(image_shape):
    """(base, stages) with side = base * 2**stages, base in 4..7, stages >= 1.

    ValueError for a non-square image or a side the mirrored stride-2 stacks
    cannot make (odd, smaller than 8, or halving to an odd base above 7).
    """
    height, width, _ = check_image_shape(image_shape)
    if height != width:
        raise ValueError(f"square images only, got {height}x{width}")
    base, stages = height, 0
    # Halve while even and above 7, so an even side ends in 4..7: DCGAN starts
    # from 4x4, and 7x7 is MNIST's analogue (28 = 7 * 4).
    while base % 2 == 0 and base > 7:
        base //= 2
        stages += 1
    if stages == 0 or base > 7:
        raise ValueError(
            f"image side {height} cannot be made by stride-2 stages from a 4..7 "
            f"base map: it must be base * 2**k with base in 4..7 and k >= 1 "
            f"(e.g. 28, 32, 64)")
    return base, stages


def _transposed_conv_generator(image_shape, latent_dim, widths, batchnorm, name,
                                tflib_init=False):
    """z -> dense projection to base x base x widths[0] -> stride-2 transposed convs -> tanh.

    `widths[i]` is the channel count at resolution base * 2**i; one stride-2
    5x5 transposed convolution per further width and one to the image's
    channels. ReLU after every hidden layer; BatchNorm (before the ReLU, as in
    DCGAN) on every hidden layer when `batchnorm`, never on the output layer.
    Weights N(0, 0.02) (DCGAN), or with `tflib_init` the WGAN-GP authors'
    tflib initialisation: Glorot-uniform projection, He-style uniform
    transposed convolutions (`tflib_uniform`).
    """
    def deconv_init(in_channels, out_channels):
        if not tflib_init:
            return _dcgan_init()
        return tflib_uniform(stride=2, in_channels=in_channels, out_channels=out_channels,
                             transposed=True)

    image_shape = check_image_shape(image_shape)
    base, stages = stride2_stages(image_shape)
    assert len(widths) == stages
    inputs = keras.Input((latent_dim,), name="z")
    # A bias in front of BatchNorm is cancelled by its mean subtraction.
    x = keras.layers.Dense(base * base * widths[0], use_bias=not batchnorm,
                           kernel_initializer="glorot_uniform" if tflib_init else _dcgan_init(),
                           name="project")(inputs)
    x = keras.layers.Reshape((base, base, widths[0]), name="reshape")(x)
    for i, width in enumerate(widths):
        if i > 0:
            x = keras.layers.Conv2DTranspose(
                width, DCGAN_KERNEL_SIZE, strides=2, padding="same", use_bias=not batchnorm,
                kernel_initializer=deconv_init(widths[i - 1], width), name=f"deconv_{i}")(x)
        if batchnorm:
            # dcgan.torch and the WGAN authors' code draw the BN scale from N(1, 0.02).
            x = batch_norm(f"bn_{i}", keras.initializers.RandomNormal(1.0, DCGAN_INIT_STDDEV))(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
    x = keras.layers.Conv2DTranspose(
        image_shape[-1], DCGAN_KERNEL_SIZE, strides=2, padding="same",
        kernel_initializer=deconv_init(widths[-1], image_shape[-1]), name=f"deconv_{stages}")(x)
    outputs = keras.layers.Activation("tanh", name="tanh", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name=name)


def _strided_conv_critic(image_shape, dim, normalization, name):
    """Image -> stride-2 5x5 convs of dim, 2*dim, ... -> flatten -> one linear score.

    LeakyReLU(0.2) after every convolution; `normalization` ("batch", "layer"
    or None) after every convolution but the first (DCGAN: none on the input
    layer). Layer norm normalises each sample over its H, W and C together.
    "spectral" instead computes every convolution and the score layer with
    W / sigma(W) (Miyato et al. 2018; models/spectral_normalization.py).
    """
    from models.spectral_normalization import SpectralConv2D, SpectralDense

    spectral = normalization == "spectral"
    conv, dense = ((SpectralConv2D, SpectralDense) if spectral
                   else (keras.layers.Conv2D, keras.layers.Dense))
    normalization = None if spectral else normalization
    image_shape = check_image_shape(image_shape)
    _, stages = stride2_stages(image_shape)
    inputs = keras.Input(image_shape, name="image")
    x = inputs
    for i in range(stages):
        normalize = i > 0 and normalization is not None
        x = conv(
            dim * 2**i, DCGAN_KERNEL_SIZE, strides=2, padding="same",
            # Only batch norm cancels a per-channel bias; layer norm subtracts
            # one mean over all channels, so the bias still matters there.
            use_bias=not (normalize and normalization == "batch"),
            kernel_initializer=_dcgan_init(), name=f"conv_{i}")(x)
        if normalize and normalization == "batch":
            x = batch_norm(f"bn_{i}", keras.initializers.RandomNormal(1.0, DCGAN_INIT_STDDEV))(x)
        elif normalize:
            x = keras.layers.LayerNormalization(axis=(1, 2, 3), epsilon=LN_EPSILON,
                                                name=f"ln_{i}")(x)
        x = keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name=f"lrelu_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = dense(1, kernel_initializer=_dcgan_init(), name="score", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name=name)


# --- DCGAN (Radford et al. 2016) ---------------------------------------------


def dcgan_generator(image_shape=(64, 64, 3), latent_dim=100, dim=64):
    """DCGAN generator (Radford et al. 2016, Section 3 and Fig. 1).

    z is projected by a dense layer to base x base x (dim * 2**(stages-1)) and
    reshaped; each stride-2 5x5 transposed convolution then doubles the side
    and halves the channels, down to `dim`, and a last one makes the image.
    64 px: 4x4x8dim -> 8x8x4dim -> 16x16x2dim -> 32x32xdim -> 64x64xC, i.e.
    Fig. 1's 1024-512-256-128 for dim=128; the default dim=64 is the authors'
    released dcgan.torch (ngf = 64, 4x4x512). 32 px: 4x4x4dim -> ... -> 32x32xC
    (as the WGAN-GP authors' gan_cifar.py). 28 px: 7x7x2dim -> 14x14xdim ->
    28x28xC. BatchNorm + ReLU on every hidden layer, none on the output layer,
    which is tanh. Weights N(0, 0.02) (Section 4); BN scales N(1, 0.02) as in
    dcgan.torch.

    Deviations: biases are dropped in front of BatchNorm (they are cancelled
    by it); dcgan.torch projects z with a 4x4 transposed convolution from a
    1x1 map, which is the same linear map as the dense layer here.
    """
    _, stages = stride2_stages(image_shape)
    widths = [dim * 2**(stages - 1 - i) for i in range(stages)]
    return _transposed_conv_generator(image_shape, latent_dim, widths, batchnorm=True,
                                      name="dcgan_generator")


def dcgan_discriminator(image_shape=(64, 64, 3), dim=64):
    """DCGAN discriminator (Radford et al. 2016, Section 3), returning logits.

    Stride-2 5x5 convolutions of dim, 2*dim, 4*dim, ... channels (no pooling)
    down to base x base (4x4x8dim at 64 px, 4x4x4dim at 32 px, 7x7x2dim at
    28 px), LeakyReLU(0.2), BatchNorm on every layer but the input layer, then
    the flattened features go to one linear unit. Radford et al. put a sigmoid
    on it; here it is left out and the GAN losses take logits (same model,
    numerically stable loss). Weights N(0, 0.02), BN scales N(1, 0.02).

    This is also the critic of the WGAN paper (Arjovsky et al. 2017, Section
    4.3: "a DCGAN critic", Figs. 5-7), which has no sigmoid anyway. The WGAN
    authors' code ends in a 4x4 valid convolution to one channel instead of
    flatten + dense, the same linear map on the 4x4 features; it uses 4x4
    kernels where we keep DCGAN's 5x5.
    """
    return _strided_conv_critic(image_shape, dim, "batch", name="dcgan_discriminator")


# --- WGAN paper variants (Arjovsky et al. 2017, Section 4.3) ------------------


def wgan_no_bn_generator(image_shape=(64, 64, 3), latent_dim=100, dim=64):
    """DCGAN-style generator without BatchNorm and with `dim` filters in every layer.

    The generator of Arjovsky et al. 2017, Section 4.3 / Fig. 6 ("no batch
    normalization and a constant number of filters at every layer"): dense
    projection to base x base x dim, ReLU, then stride-2 5x5 transposed
    convolutions of dim filters with ReLU, a last one to the image, tanh.
    This is the WGAN-GP authors' rewrite of it for their Fig. 2
    (WGANPaper_CrippledDCGANGenerator in gan_64x64.py: dim filters throughout,
    5x5 kernels, biases), with its tflib initialisation (Glorot-uniform
    projection, He-style uniform transposed convolutions). The noise is
    the caller's (`latent_dim`; the WGAN preset's is the WGAN paper's 100-d,
    where the rewrite draws 128-d).

    Deviations from the WGAN authors' DCGAN_G_nobn: it still halves the
    filters per layer (we follow the paper's text), uses 4x4 kernels and no
    biases, and draws weights from DCGAN's N(0, 0.02). That initialisation
    without BatchNorm shrinks the signal at every layer: at 28 px and dim 32
    the images vary over z by about 0.005 (std), one grey image for every z.
    A critic with BatchNorm fed batches of fakes alone then gives the
    generator almost no gradient (each channel's level and scale common to
    the batch are normalised away, and a flat image has little else), and
    WGAN stayed at that grey image for 10,000 iterations here (and for the
    1170 tried with the authors' RMSProp). The tflib initialisation starts at
    a spread of about 0.17 (about 0.08 at 64 px).
    """
    _, stages = stride2_stages(image_shape)
    return _transposed_conv_generator(image_shape, latent_dim, [dim] * stages,
                                      batchnorm=False, name="wgan_no_bn_generator",
                                      tflib_init=True)


def wgan_mlp_generator(image_shape=(64, 64, 3), latent_dim=100, hidden_units=512,
                       hidden_layers=3):
    """The WGAN paper's MLP generator (Arjovsky et al. 2017, Section 4.3 and Fig. 7).

    A 4-layer ReLU MLP with 512 hidden units; as in the authors' MLP_G, the 4
    layers are dense layers: `hidden_layers`=3 ReLU layers of `hidden_units`
    and a linear layer to every pixel, reshaped to the image.

    Deviations: we add a tanh after the last layer (the authors' MLP_G is
    linear; the WGAN-GP authors' FCGenerator, their reproduction of this
    figure, has the tanh), so every generator here shares the [-1, 1] range of
    the data. Initialisation follows tflib and `models.networks.toy_mlp`
    (He-uniform for ReLU layers, Glorot-uniform for the output) rather than
    PyTorch's default U(+-1/sqrt(fan_in)) of the WGAN code.
    """
    image_shape = check_image_shape(image_shape)
    inputs = keras.Input((latent_dim,), name="z")
    x = inputs
    for i in range(hidden_layers):
        x = keras.layers.Dense(hidden_units, activation="relu",
                               kernel_initializer="he_uniform", name=f"relu_{i}")(x)
    x = keras.layers.Dense(math.prod(image_shape), name="linear")(x)
    x = keras.layers.Activation("tanh", name="tanh", dtype=output_dtype())(x)
    outputs = keras.layers.Reshape(image_shape, name="image", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="wgan_mlp_generator")


# --- WGAN-GP critics (Gulrajani et al. 2017, Section 4) -------------------------


def wgan_gp_dcgan_critic(image_shape=(64, 64, 3), dim=64, normalization=None):
    """DCGAN critic without BatchNorm (Gulrajani et al. 2017, Section 4).

    Section 4's "no critic batch normalization" applied to the DCGAN
    discriminator: the same convolutions and LeakyReLU(0.2), with
    `normalization` None (default: no normalisation, as the authors'
    gan_cifar.py and gan_mnist.py), "layer" (layer normalisation over each
    sample's H, W and C, the drop-in replacement the paper recommends and
    gan_64x64.py uses) or "spectral" (every layer's weight divided by its
    spectral norm, Miyato et al. 2018). Either way the score of a sample does not depend on the
    other samples of the batch, which the per-sample gradient penalty needs.
    Weights N(0, 0.02) as in DCGAN.

    Deviations: Keras' LayerNormalization over (H, W, C) learns one scale and
    offset per element, where tflib's Layernorm learns one per channel; both
    start at 1 and 0, so the initial network is the same. gan_cifar.py uses
    tflib's default (He-style uniform) initialisation, and gan_64x64.py's
    DCGANDiscriminator a uniform law of std 0.02, rather than N(0, 0.02).
    """
    if normalization not in CRITIC_NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {CRITIC_NORMALIZATIONS}, "
                         f"got {normalization!r}")
    return _strided_conv_critic(image_shape, dim, normalization, name="wgan_gp_dcgan_critic")


# --- the WGAN-GP authors' MNIST models (gan_mnist.py) ---------------------------

MNIST_SHAPE = (28, 28, 1)


def wgan_gp_mnist_generator(latent_dim=128, dim=64):
    """Generator of the WGAN-GP authors' gan_mnist.py (Gulrajani et al. 2017, Fig. 5b).

    Dense(latent_dim -> 4*4*4dim), ReLU, reshape to 4x4x4dim; 5x5 stride-2
    transposed conv to 8x8x2dim, ReLU; crop to the top-left 7x7 (their
    `output[:, :, :7, :7]`); transposed conv to 14x14xdim, ReLU; transposed
    conv to 28x28x1. No BatchNorm (their 'wgan-gp' mode; BN is only in their
    'wgan' mode). tflib initialisation (Glorot-uniform dense, He-style uniform
    convs, see `tflib_uniform`), zero biases.

    Deviation: their output is a sigmoid because they scale MNIST to [0, 1];
    our data is in [-1, 1], so the output is tanh.
    """
    def deconv(x, in_channels, out_channels, name):
        return keras.layers.Conv2DTranspose(
            out_channels, 5, strides=2, padding="same",
            kernel_initializer=tflib_uniform(stride=2, in_channels=in_channels,
                                             out_channels=out_channels, transposed=True),
            name=name)(x)

    inputs = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(4 * 4 * 4 * dim, kernel_initializer="glorot_uniform",
                           name="project")(inputs)
    x = keras.layers.ReLU(name="relu_0")(x)
    x = keras.layers.Reshape((4, 4, 4 * dim), name="reshape")(x)
    x = keras.layers.ReLU(name="relu_1")(deconv(x, 4 * dim, 2 * dim, "deconv_1"))
    # 8x8 -> 7x7 so that two more doublings reach 28.
    x = keras.layers.Cropping2D(((0, 1), (0, 1)), name="crop_to_7x7")(x)
    x = keras.layers.ReLU(name="relu_2")(deconv(x, 2 * dim, dim, "deconv_2"))
    x = deconv(x, dim, MNIST_SHAPE[-1], "deconv_3")
    outputs = keras.layers.Activation("tanh", name="tanh", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="wgan_gp_mnist_generator")


def wgan_gp_mnist_critic(dim=64):
    """Critic of the WGAN-GP authors' gan_mnist.py (Gulrajani et al. 2017, Fig. 5b).

    5x5 stride-2 'same' convolutions of dim, 2*dim, 4*dim channels with
    LeakyReLU(0.2), 28 -> 14 -> 7 -> 4 px, flatten (4*4*4dim), one linear
    score. No normalisation. tflib initialisation (He-style uniform convs with
    tflib's stride correction, Glorot-uniform output), zero biases.
    """
    inputs = keras.Input(MNIST_SHAPE, name="image")
    x = inputs
    in_channels = MNIST_SHAPE[-1]
    for i, out_channels in enumerate([dim, 2 * dim, 4 * dim]):
        x = keras.layers.Conv2D(
            out_channels, 5, strides=2, padding="same",
            kernel_initializer=tflib_uniform(stride=2, in_channels=in_channels,
                                             out_channels=out_channels),
            name=f"conv_{i}")(x)
        x = keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name=f"lrelu_{i}")(x)
        in_channels = out_channels
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(1, kernel_initializer="glorot_uniform", name="score",
                                 dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="wgan_gp_mnist_critic")
