"""The "standard CNN" of Miyato et al. 2018 ("Spectral Normalization for GANs", Table 3).

Generator (Table 3a): z in R^128 ~ N(0, I) -> dense -> M_g x M_g x 512 ->
three 4x4 stride-2 deconvolutions of 256, 128 and 64 channels, each with
BatchNorm and ReLU -> a 3x3 stride-1 convolution to the image -> tanh. M_g is
the image side / 8 (4 for 32 x 32 CIFAR-10, 6 for 48 x 48 STL-10).

Discriminator (Table 3b): four pairs of a 3x3 stride-1 convolution and a 4x4
stride-2 one, of 64, 64 / 128, 128 / 256, 256 channels, then a 3x3 stride-1
convolution of 512, each followed by LeakyReLU(0.1) ("The slopes of all lReLU
functions in the networks are set to 0.1"), then a dense layer to one logit.
With `spectral=True` every one of these layers, the last included, computes
with W / sigma(W) (models/spectral_normalization.py); there is no BatchNorm.

Details from the authors' code (pfnet-research/chainer-gan-lib,
common/net.py: DCGANGenerator, SNDCGANDiscriminator): weights N(0, 0.02),
biases 0; the generator's first BatchNorm normalises each of the dense
layer's 4 x 4 x 512 outputs (it comes before the reshape); Chainer's
BatchNorm decay 0.9 and epsilon 2e-5; 'same' padding is their pad 1.

Where that code differs from the paper, this follows the paper (the paper's
Figure 3, with 64, 128 and 256 singular values for layers 2, 4 and 6, shows
the paper's widths were the ones trained): the code's stride-2 convolutions
double the width (64 -> 128 -> 256 -> 512) where Table 3b keeps it, its
LeakyReLU slope is Chainer's default 0.2, and its z is U[-1, 1].
"""

import keras

from models.image_networks import check_image_shape
from models.networks import output_dtype

LATENT_DIM = 128
LEAKY_RELU_SLOPE = 0.1
INIT_STDDEV = 0.02
BN_MOMENTUM = 0.9  # Chainer's decay
BN_EPSILON = 2e-5  # Chainer's default


def _init():
    return keras.initializers.RandomNormal(0.0, INIT_STDDEV)


def _base_size(image_shape):
    height, width, _ = check_image_shape(image_shape)
    if height != width or height % 8:
        raise ValueError(f"the SN-GAN standard CNN makes square images whose side is a "
                         f"multiple of 8 (32: CIFAR-10, 48: STL-10), got {image_shape}")
    return height // 8


def sngan_generator(image_shape=(32, 32, 3), latent_dim=LATENT_DIM):
    """Table 3a: z -> dense M_g x M_g x 512 -> deconvs 256, 128, 64 (BN, ReLU) -> 3x3 conv, tanh."""
    base = _base_size(image_shape)

    def batch_norm(name):
        return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                               name=name)

    inputs = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(base * base * 512, kernel_initializer=_init(), name="dense")(inputs)
    x = keras.layers.ReLU(name="relu_0")(batch_norm("bn_0")(x))
    x = keras.layers.Reshape((base, base, 512), name="reshape")(x)
    for i, filters in enumerate((256, 128, 64), start=1):
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                         kernel_initializer=_init(), name=f"deconv_{i}")(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(batch_norm(f"bn_{i}")(x))
    x = keras.layers.Conv2D(image_shape[-1], 3, padding="same", kernel_initializer=_init(),
                            name="conv_out")(x)
    outputs = keras.layers.Activation("tanh", name="tanh", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="sngan_generator")


def sngan_discriminator(image_shape=(32, 32, 3), spectral=True):
    """Table 3b: (3x3 s1, 4x4 s2) x (64, 128, 256), 3x3 s1 512, each lReLU(0.1) -> dense -> logit."""
    from models.spectral_normalization import SpectralConv2D, SpectralDense

    _base_size(image_shape)
    conv, dense = ((SpectralConv2D, SpectralDense) if spectral
                   else (keras.layers.Conv2D, keras.layers.Dense))
    layers = [(64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2),
              (512, 3, 1)]
    inputs = keras.Input(image_shape, name="image")
    x = inputs
    for i, (filters, kernel, stride) in enumerate(layers):
        x = conv(filters, kernel, strides=stride, padding="same", kernel_initializer=_init(),
                 name=f"conv_{i}")(x)
        x = keras.layers.LeakyReLU(LEAKY_RELU_SLOPE, name=f"lrelu_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = dense(1, kernel_initializer=_init(), name="score", dtype=output_dtype())(x)
    return keras.Model(inputs, outputs, name="sngan_discriminator")
