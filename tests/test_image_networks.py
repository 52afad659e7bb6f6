"""Tests for models.image_networks and models.resnet_networks."""

import os

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from models import image_networks as im
from models import resnet_networks as rn

SIZES = {"mnist": (28, 28, 1), "cifar": (32, 32, 3), "celeba": (64, 64, 3)}
_W = 8  # a small width wherever the test isn't about the default one

# name -> (builder of a small model, its input shape without the batch axis).
GENERATORS = {}
CRITICS = {}
for _key, _shape in SIZES.items():
    GENERATORS[f"dcgan_{_key}"] = (lambda s=_shape: im.dcgan_generator(s, dim=_W), (100,))
    GENERATORS[f"wgan_no_bn_{_key}"] = (lambda s=_shape: im.wgan_no_bn_generator(s, dim=_W),
                                        (100,))
    GENERATORS[f"wgan_mlp_{_key}"] = (
        lambda s=_shape: im.wgan_mlp_generator(s, hidden_units=16), (100,))
    CRITICS[f"dcgan_{_key}"] = (lambda s=_shape: im.dcgan_discriminator(s, dim=_W), _shape)
    for _norm in (None, "layer"):
        CRITICS[f"wgan_gp_dcgan_{_norm}_{_key}"] = (
            lambda s=_shape, n=_norm: im.wgan_gp_dcgan_critic(s, dim=_W, normalization=n),
            _shape)
GENERATORS["wgan_gp_mnist"] = (lambda: im.wgan_gp_mnist_generator(dim=_W), (128,))
GENERATORS["wgan_gp_resnet"] = (lambda: rn.wgan_gp_resnet_generator(dim=_W), (128,))
CRITICS["wgan_gp_mnist"] = (lambda: im.wgan_gp_mnist_critic(dim=_W), SIZES["mnist"])
CRITICS["wgan_gp_resnet"] = (lambda: rn.wgan_gp_resnet_critic(dim=_W), SIZES["cifar"])

# Critics whose scores must not mix samples (WGAN-GP: no batch norm).
PER_SAMPLE_CRITICS = [name for name in CRITICS if name.startswith("wgan_gp")]
NO_BATCHNORM = ([f"generator_{n}" for n in GENERATORS if n.startswith(("wgan_no_bn", "wgan_mlp",
                                                                       "wgan_gp_mnist"))]
                + [f"critic_{n}" for n in PER_SAMPLE_CRITICS])
ALL_MODELS = {**{f"generator_{n}": b for n, b in GENERATORS.items()},
              **{f"critic_{n}": b for n, b in CRITICS.items()}}


def _params(names):
    return [(name, name) for name in names]


def _inputs(shape, batch=2, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((batch,) + tuple(shape))).astype("float32")


def _layer_types(model):
    """Class names of the layers after the input, in graph order."""
    return [type(layer).__name__ for layer in model.layers[1:]]


def _layers_of(model, layer_type):
    return [layer for layer in model.layers if isinstance(layer, layer_type)]


class ImageNetworksTest(tf.test.TestCase, parameterized.TestCase):

    def setUp(self):
        super().setUp()
        keras.utils.set_random_seed(0)

    # --- shapes ---------------------------------------------------------------

    @parameterized.named_parameters(_params(GENERATORS))
    def test_generator_maps_latent_batch_to_image_batch(self, name):
        build, latent_shape = GENERATORS[name]
        model = build()
        outputs = model(_inputs(latent_shape, batch=3))
        image_shape = model.output_shape[1:]
        self.assertIn(image_shape, list(SIZES.values()))
        self.assertEqual(tuple(outputs.shape), (3,) + image_shape)
        self.assertEqual(outputs.dtype, tf.float32)

    @parameterized.named_parameters(_params(CRITICS))
    def test_critic_gives_one_score_per_sample(self, name):
        build, image_shape = CRITICS[name]
        outputs = build()(_inputs(image_shape, batch=3))
        self.assertEqual(tuple(outputs.shape), (3, 1))
        self.assertEqual(outputs.dtype, tf.float32)

    @parameterized.named_parameters(
        ("mnist", SIZES["mnist"], [(7, 2), (14, 1)]),
        ("cifar", SIZES["cifar"], [(4, 4), (8, 2), (16, 1)]),
        ("celeba", SIZES["celeba"], [(4, 8), (8, 4), (16, 2), (32, 1)]))
    def test_dcgan_feature_maps_double_in_size_and_halve_in_width(self, image_shape, maps):
        dim = 4
        generator = im.dcgan_generator(image_shape, dim=dim)
        hidden = [generator.get_layer(f"relu_{i}").output.shape for i in range(len(maps))]
        self.assertEqual([tuple(s) for s in hidden],
                         [(None, side, side, width * dim) for side, width in maps])
        # The discriminator walks the same maps back down.
        discriminator = im.dcgan_discriminator(image_shape, dim=dim)
        downs = [discriminator.get_layer(f"lrelu_{i}").output.shape for i in range(len(maps))]
        self.assertEqual([tuple(s) for s in downs],
                         [(None, side, side, width * dim) for side, width in reversed(maps)])

    def test_wgan_gp_mnist_maps_follow_gan_mnist_py(self):
        model = im.wgan_gp_mnist_generator(dim=4)
        sides = [model.get_layer(n).output.shape[1:] for n in
                 ("reshape", "deconv_1", "crop_to_7x7", "deconv_2", "deconv_3")]
        self.assertEqual([tuple(s) for s in sides],
                         [(4, 4, 16), (8, 8, 8), (7, 7, 8), (14, 14, 4), (28, 28, 1)])
        critic = im.wgan_gp_mnist_critic(dim=4)
        self.assertEqual(tuple(critic.get_layer("flatten").output.shape), (None, 4 * 4 * 4 * 4))

    def test_dcgan_generator_has_figure_1_parameter_count(self):
        # 100 -> 4x4x1024 (no bias before BN), 5x5 transposed convs to 512, 256,
        # 128 (no bias), then to 3 with bias; BN has gamma, beta, mean, variance.
        expected = (100 * 4 * 4 * 1024 + 4 * 1024
                    + 25 * 1024 * 512 + 4 * 512
                    + 25 * 512 * 256 + 4 * 256
                    + 25 * 256 * 128 + 4 * 128
                    + 25 * 128 * 3 + 3)
        # Fig. 1 is dim=128 (dim * 8 = 1024 at 4x4).
        self.assertEqual(im.dcgan_generator((64, 64, 3), dim=128).count_params(), expected)

    def test_wgan_mlp_generator_has_four_dense_layers_of_512(self):
        model = im.wgan_mlp_generator((64, 64, 3))
        dense = _layers_of(model, keras.layers.Dense)
        self.assertEqual([layer.units for layer in dense], [512, 512, 512, 64 * 64 * 3])
        self.assertEqual([layer.activation.__name__ for layer in dense],
                         ["relu", "relu", "relu", "linear"])

    def test_resnet_parameter_counts_match_appendix_f(self):
        d = _W
        conv3, conv1 = 9 * d * d + d, d * d + d  # kernels + biases
        bn = 4 * d  # gamma, beta, moving mean and variance
        generator = (128 * 16 * d + 16 * d                   # dense to 4x4xd
                     + 3 * (2 * bn + 2 * conv3 + conv1)     # 3 up blocks
                     + bn + 9 * d * 3 + 3)                  # BN, conv to RGB
        critic = ((9 * 3 * d + d) + conv3 + (3 * d + d)     # optimized block
                  + 2 * conv3 + conv1                       # down block
                  + 2 * 2 * conv3                           # 2 plain blocks
                  + d + 1)                                  # linear score
        self.assertEqual(rn.wgan_gp_resnet_generator(dim=d).count_params(), generator)
        self.assertEqual(rn.wgan_gp_resnet_critic(dim=d).count_params(), critic)
        self.assertEqual(tuple(rn.wgan_gp_resnet_critic(dim=d).get_layer("block4_add")
                               .output.shape), (None, 8, 8, d))

    # --- output ranges -------------------------------------------------------

    @parameterized.named_parameters(_params(GENERATORS))
    def test_generator_output_is_tanh_bounded(self, name):
        build, latent_shape = GENERATORS[name]
        model = build()
        self.assertEqual(model.get_layer("tanh").activation.__name__, "tanh")
        # A huge z drives the pre-activations far beyond [-1, 1]: the output
        # saturates at both ends but never leaves the interval.
        images = self.evaluate(model(_inputs(latent_shape, batch=4, scale=1e6)))
        self.assertLessEqual(np.abs(images).max(), 1.0)
        self.assertGreater(images.max(), 0.99)
        self.assertLess(images.min(), -0.99)

    @parameterized.named_parameters(_params(CRITICS))
    def test_critic_score_is_linear_in_its_last_layer(self, name):
        build, image_shape = CRITICS[name]
        model = build()
        score = model.get_layer("score")
        self.assertEqual(score.activation.__name__, "linear")
        images = _inputs(image_shape, batch=4)
        before = self.evaluate(model(images))
        kernel, bias = score.get_weights()
        score.set_weights([1e4 * kernel, bias])  # the bias starts at zero
        after = self.evaluate(model(images))
        # No sigmoid: the scores scale with the weights and leave [0, 1].
        self.assertAllClose(after, 1e4 * before, rtol=1e-4, atol=1e-4)
        self.assertGreater(np.abs(after).max(), 1.0)

    # --- normalisation placement ------------------------------------------------

    @parameterized.named_parameters(("mnist", SIZES["mnist"], 2), ("cifar", SIZES["cifar"], 3),
                                    ("celeba", SIZES["celeba"], 4))
    def test_dcgan_batchnorm_skips_generator_output_and_discriminator_input(self, shape, stages):
        generator = im.dcgan_generator(shape, dim=_W)
        self.assertEqual(
            _layer_types(generator),
            ["Dense", "Reshape", "BatchNormalization", "ReLU"]
            + ["Conv2DTranspose", "BatchNormalization", "ReLU"] * (stages - 1)
            + ["Conv2DTranspose", "Activation"])
        discriminator = im.dcgan_discriminator(shape, dim=_W)
        self.assertEqual(
            _layer_types(discriminator),
            ["Conv2D", "LeakyReLU"]
            + ["Conv2D", "BatchNormalization", "LeakyReLU"] * (stages - 1)
            + ["Flatten", "Dense"])
        self.assertEqual(discriminator.get_layer("lrelu_0").negative_slope, 0.2)

    @parameterized.named_parameters(_params(NO_BATCHNORM))
    def test_no_batchnorm_where_the_papers_forbid_it(self, name):
        build, _ = ALL_MODELS[name]
        self.assertEqual(_layers_of(build(), keras.layers.BatchNormalization), [])

    def test_wgan_no_bn_generator_has_constant_width(self):
        model = im.wgan_no_bn_generator((64, 64, 3), dim=_W)
        widths = [layer.output.shape[-1] for layer in _layers_of(model, keras.layers.ReLU)]
        self.assertEqual(widths, [_W] * 4)

    @parameterized.named_parameters(("mnist", SIZES["mnist"], 2), ("celeba", SIZES["celeba"], 4))
    def test_layer_norm_only_when_asked_and_over_each_whole_sample(self, shape, stages):
        self.assertEqual(_layers_of(im.wgan_gp_dcgan_critic(shape, dim=_W),
                                    keras.layers.LayerNormalization), [])
        model = im.wgan_gp_dcgan_critic(shape, dim=_W, normalization="layer")
        norms = _layers_of(model, keras.layers.LayerNormalization)
        self.assertEqual([layer.name for layer in norms],
                         [f"ln_{i}" for i in range(1, stages)])  # none on the input layer
        # At initialisation (scale 1, offset 0) each sample comes out with mean
        # 0 and variance 1 over its H, W and C together (not per channel).
        probe = keras.Model(model.input, model.get_layer("ln_1").output)
        features = self.evaluate(probe(_inputs(shape, batch=3, scale=5.0)))
        self.assertAllClose(features.mean(axis=(1, 2, 3)), np.zeros(3), atol=1e-4)
        self.assertAllClose(features.var(axis=(1, 2, 3)), np.ones(3), atol=1e-2)
        self.assertGreater(np.abs(features.mean(axis=(0, 1, 2))).max(), 0.05)

    def test_resnet_batchnorm_in_generator_only_and_not_after_output_conv(self):
        generator = rn.wgan_gp_resnet_generator(dim=_W)
        self.assertLen(_layers_of(generator, keras.layers.BatchNormalization), 3 * 2 + 1)
        self.assertEqual(_layer_types(generator)[-2:], ["Conv2D", "Activation"])
        critic = rn.wgan_gp_resnet_critic(dim=_W)
        self.assertEqual(_layers_of(critic, keras.layers.BatchNormalization), [])
        self.assertEqual(_layers_of(critic, keras.layers.LayerNormalization), [])

    # --- initialisation ----------------------------------------------------------

    def test_dcgan_weights_are_normal_with_std_0_02(self):
        shape = SIZES["cifar"]
        models = [im.dcgan_generator(shape, dim=32), im.dcgan_discriminator(shape, dim=32),
                  im.wgan_gp_dcgan_critic(shape, dim=32, normalization="layer")]
        for model in models:
            for layer in model.layers:
                if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
                    kernel = layer.kernel.numpy()
                    with self.subTest(model=model.name, layer=layer.name):
                        self.assertGreaterEqual(kernel.size, 2048)
                        self.assertAllClose(kernel.std(), 0.02, atol=0.0015)
                        self.assertAllClose(kernel.mean(), 0.0, atol=0.0015)
        gammas = np.concatenate([layer.gamma.numpy() for layer in _layers_of(
            models[0], keras.layers.BatchNormalization)])
        self.assertAllClose(gammas.mean(), 1.0, atol=0.005)
        self.assertAllClose(gammas.std(), 0.02, atol=0.005)

    def test_tflib_uniform_reproduces_the_authors_strided_fans(self):
        dim = 64
        critic = im.wgan_gp_mnist_critic(dim=dim)
        generator = im.wgan_gp_mnist_generator(dim=dim)
        no_bn = im.wgan_no_bn_generator(SIZES["cifar"], dim=dim)
        cases = [  # tflib: conv fan_out / stride^2, deconv fan_in / stride^2
            (critic.get_layer("conv_1").kernel, 25 * dim + 25 * 2 * dim / 4),
            (generator.get_layer("deconv_2").kernel, 25 * 2 * dim / 4 + 25 * dim),
            (no_bn.get_layer("deconv_1").kernel, 25 * dim / 4 + 25 * dim)]
        for kernel, fan_sum in cases:
            stddev = np.sqrt(4.0 / fan_sum)
            kernel = kernel.numpy()
            self.assertAllClose(kernel.std(), stddev, rtol=0.01)
            self.assertLessEqual(np.abs(kernel).max(), stddev * np.sqrt(3.0) * (1 + 1e-6))

    def test_no_bn_generator_images_differ_across_noise_at_initialisation(self):
        # With DCGAN's N(0, 0.02) and no BatchNorm, every layer shrinks the signal
        # (output std over z about 0.005 at 28 px, dim 32): nearly one grey image
        # for every z, whose gradient through a BatchNorm critic fed fakes-only
        # batches vanishes, so WGAN never left it (10,000 iterations measured).
        # The WGAN-GP authors' initialisation keeps the signal's scale.
        generator = im.wgan_no_bn_generator(SIZES["mnist"], dim=32)
        z = np.random.default_rng(0).standard_normal((256, 100)).astype(np.float32)
        images = self.evaluate(generator(z))
        self.assertGreater(images.std(axis=0).mean(), 0.05)

    # --- per-sample independence (what the gradient penalty needs) -----------------

    @parameterized.named_parameters(_params(PER_SAMPLE_CRITICS))
    def test_changing_one_sample_leaves_other_scores_unchanged(self, name):
        build, image_shape = CRITICS[name]
        model = build()
        images = _inputs(image_shape, batch=3)
        changed = images.copy()
        changed[1] = _inputs(image_shape, batch=1, seed=1)[0]
        before = self.evaluate(model(images, training=True))
        after = self.evaluate(model(changed, training=True))
        self.assertAllClose(after[[0, 2]], before[[0, 2]], rtol=1e-5, atol=1e-6)
        self.assertNotAllClose(after[1], before[1])

    def test_batchnorm_critic_mixes_samples_in_training(self):
        # The control for the test above: DCGAN's BN discriminator fails it.
        model = im.dcgan_discriminator(SIZES["cifar"], dim=_W)
        images = _inputs(SIZES["cifar"], batch=3)
        changed = images.copy()
        changed[1] = 10.0 * changed[1]
        before = self.evaluate(model(images, training=True))
        after = self.evaluate(model(changed, training=True))
        self.assertNotAllClose(after[0], before[0])

    # --- errors ------------------------------------------------------------------

    @parameterized.named_parameters(
        ("odd", (27, 27, 3)), ("too_small", (6, 6, 3)), ("odd_base", (36, 36, 3)),
        ("non_square", (28, 32, 3)), ("rank_2", (32, 32)))
    def test_impossible_image_shape_raises(self, shape):
        for build in (im.dcgan_generator, im.dcgan_discriminator, im.wgan_no_bn_generator,
                      im.wgan_gp_dcgan_critic):
            with self.subTest(builder=build.__name__):
                with self.assertRaisesRegex(ValueError, "image|square"):
                    build(shape)

    def test_wgan_gp_critic_rejects_batch_norm(self):
        with self.assertRaisesRegex(ValueError, "normalization"):
            im.wgan_gp_dcgan_critic(SIZES["cifar"], normalization="batch")

    # --- serialisation --------------------------------------------------------------

    @parameterized.named_parameters(_params(ALL_MODELS))
    def test_keras_format_round_trip_gives_identical_outputs(self, name):
        build, input_shape = ALL_MODELS[name]
        model = build()
        path = os.path.join(self.get_temp_dir(), f"{name}.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        inputs = _inputs(input_shape, batch=2)
        self.assertAllEqual(self.evaluate(loaded(inputs)), self.evaluate(model(inputs)))


if __name__ == "__main__":
    tf.test.main()
