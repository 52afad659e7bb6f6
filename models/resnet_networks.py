"""The WGAN-GP CIFAR-10 ResNet (Gulrajani et al. 2017, Appendix F; gan_cifar_resnet.py).

Unconditional version (Table 3's 7.86 inception score): the authors' script
defaults to the conditional AC-GAN model; with CONDITIONAL = False its
networks are these. Same conventions as `models.image_networks`:
channels-last images in [-1, 1], a tanh generator, a critic with one
unbounded score per sample.

Initialisation follows the authors' tflib: the 3x3 convolutions of the
residual paths use its He-style uniform init (`tflib_uniform`), the 1x1
shortcuts and the generator's output convolution Glorot-uniform (their
`he_init=False`), the dense layers Glorot-uniform; biases start at zero.
"""

import keras

from models.image_networks import batch_norm, tflib_uniform
from models.networks import output_dtype

CIFAR_SHAPE = (32, 32, 3)
_KERNEL_SIZE = 3


def _conv(filters, kernel_size, name, he=True):
    # Every convolution here has stride 1 (resampling is done by separate
    # upsampling / mean-pooling), so tflib's init needs no stride correction.
    return keras.layers.Conv2D(filters, kernel_size, padding="same",
                               kernel_initializer=tflib_uniform(he=he), name=name)


def _upsample(x, name):
    # Their UpsampleConv tiles each pixel into a 2x2 block (depth_to_space of
    # four copies): nearest-neighbour upsampling.
    return keras.layers.UpSampling2D(2, interpolation="nearest", name=name)(x)


def _mean_pool(x, name):
    return keras.layers.AveragePooling2D(2, name=name)(x)


def _residual_block(x, dim, resample, name, batchnorm):
    """The authors' ResidualBlock for input_dim == output_dim == `dim`.

    Residual path: [BN], ReLU, conv3x3, [BN], ReLU, conv3x3, with resample
    "up" doubling the side before the first conv (nearest neighbour, their
    UpsampleConv) and "down" halving it after the second conv by 2x2 mean
    pooling (their ConvMeanPool). Shortcut: the same resampling around a 1x1
    conv ("up": upsample then conv; "down": conv then mean-pool, the order of
    their code; for a 1x1 conv the two orders give the same map), identity
    when `resample` is None.
    """
    if resample == "up":
        shortcut = _conv(dim, 1, f"{name}_shortcut", he=False)(
            _upsample(x, f"{name}_shortcut_up"))
    elif resample == "down":
        shortcut = _mean_pool(_conv(dim, 1, f"{name}_shortcut", he=False)(x),
                              f"{name}_shortcut_pool")
    else:
        shortcut = x

    h = x
    for i in (1, 2):
        if batchnorm:
            h = batch_norm(f"{name}_bn{i}")(h)
        h = keras.layers.ReLU(name=f"{name}_relu{i}")(h)
        if i == 1 and resample == "up":
            h = _upsample(h, f"{name}_conv1_up")
        h = _conv(dim, _KERNEL_SIZE, f"{name}_conv{i}")(h)
    if resample == "down":
        h = _mean_pool(h, f"{name}_conv2_pool")
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def wgan_gp_resnet_generator(latent_dim=128, dim=128):
    """WGAN-GP CIFAR-10 ResNet generator (Gulrajani et al. 2017, Appendix F).

    z (128) -> dense to 4x4x`dim` -> 3 upsampling residual blocks of `dim`
    (4 -> 8 -> 16 -> 32 px; each BN, ReLU, nearest upsample, conv3x3, BN,
    ReLU, conv3x3, with an upsample + conv1x1 shortcut) -> BN, ReLU, conv3x3
    to 3 channels, tanh.

    Deviation: the authors' BatchNorm always normalises with the current
    batch's statistics (tflib calls it with is_training=None), even when they
    draw samples; Keras' uses moving averages when called with training=False.
    The dense output is reshaped channels-last rather than their channels-first,
    a permutation of its units that changes nothing at initialisation.
    """
    inputs = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(4 * 4 * dim, kernel_initializer="glorot_uniform",
                           name="project")(inputs)
    x = keras.layers.Reshape((4, 4, dim), name="reshape")(x)
    for i in (1, 2, 3):
        x = _residual_block(x, dim, "up", f"block{i}", batchnorm=True)
    x = batch_norm("output_bn")(x)
    x = keras.layers.ReLU(name="output_relu")(x)
    x = _conv(CIFAR_SHAPE[-1], _KERNEL_SIZE, "output_conv", he=False)(x)
    outputs = keras.layers.Activation("tanh", name="tanh", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="wgan_gp_resnet_generator")


def wgan_gp_resnet_critic(dim=128):
    """WGAN-GP CIFAR-10 ResNet critic (Gulrajani et al. 2017, Appendix F).

    Image -> the "optimized" first downsampling block (conv3x3, ReLU, conv3x3,
    2x2 mean pool; shortcut mean pool then conv1x1; no ReLU on the image
    itself) -> a downsampling residual block -> 2 plain residual blocks
    (identity shortcuts), all of `dim` channels (32 -> 16 -> 8 -> 8 -> 8 px)
    -> ReLU -> mean over the spatial axes -> one linear score. No
    normalisation anywhere (BN is in the generator only), so each sample's
    score depends on that sample alone.
    """
    inputs = keras.Input(CIFAR_SHAPE, name="image")
    # OptimizedResBlockDisc1 of the authors' code.
    shortcut = _mean_pool(inputs, "block1_shortcut_pool")
    shortcut = _conv(dim, 1, "block1_shortcut", he=False)(shortcut)
    h = _conv(dim, _KERNEL_SIZE, "block1_conv1")(inputs)
    h = keras.layers.ReLU(name="block1_relu")(h)
    h = _conv(dim, _KERNEL_SIZE, "block1_conv2")(h)
    h = _mean_pool(h, "block1_conv2_pool")
    x = keras.layers.Add(name="block1_add")([shortcut, h])

    x = _residual_block(x, dim, "down", "block2", batchnorm=False)
    x = _residual_block(x, dim, None, "block3", batchnorm=False)
    x = _residual_block(x, dim, None, "block4", batchnorm=False)
    x = keras.layers.ReLU(name="output_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="mean_pool")(x)
    outputs = keras.layers.Dense(1, kernel_initializer="glorot_uniform", name="score",
                                 dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="wgan_gp_resnet_critic")
