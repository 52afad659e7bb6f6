"""Spectral normalization (Miyato et al. 2018, Algorithm 1): known answers for sigma, its gradient,
one power iteration per critic update, and its state across save, checkpoint and resume."""

import os

import keras
import numpy as np
import tensorflow as tf

from models import WGANGP
from models.spectral_normalization import (SpectralConv2D, SpectralDense, spectral_layers,
                                           spectral_norms)


def built(layer, input_shape):
    layer.build(input_shape)
    return layer


class SigmaTest(tf.test.TestCase):

    def test_power_iterations_converge_to_the_largest_singular_value(self):
        keras.utils.set_random_seed(0)
        dense = built(SpectralDense(7), (None, 5))
        conv = built(SpectralConv2D(4, 3), (None, 8, 8, 3))
        for layer, matrix_shape in ((dense, (5, 7)), (conv, (27, 4))):
            raw = layer._kernel.numpy().reshape(matrix_shape)
            for _ in range(300):
                layer.power_iteration()
            expected = np.linalg.svd(raw, compute_uv=False)[0]
            self.assertAllClose(float(layer.sigma()), expected, rtol=1e-3, msg=layer.name)
            self.assertEqual(int(layer.power_iterations), 300)
            # The kernel the layer computes with has spectral norm 1.
            normalised = np.asarray(layer.kernel).reshape(matrix_shape)
            self.assertAllClose(np.linalg.svd(normalised, compute_uv=False)[0], 1.0, rtol=1e-3)
            # ... and the raw weights are untouched (reparametrised, not projected).
            self.assertAllEqual(layer._kernel.numpy().reshape(matrix_shape), raw)

    def test_the_forward_pass_uses_w_over_sigma(self):
        keras.utils.set_random_seed(1)
        layer = built(SpectralDense(3, use_bias=False), (None, 4))
        layer.power_iteration()
        x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
        w, u, v = layer._kernel.numpy(), layer.u.numpy(), layer.v.numpy()
        sigma = v @ w @ u  # u^T W v in the paper's layout (W = w^T)
        self.assertAllClose(layer(x), x @ w / sigma, rtol=1e-5)

    def test_gradient_is_that_of_w_over_sigma_with_u_and_v_fixed(self):
        # Finite differences in float64 of f(W) = sum(c * x (W / (v^T W u)))
        # with u, v frozen, against the layer's autodiff gradient.
        layer = built(SpectralDense(3, use_bias=False, dtype="float64"), (None, 4))
        for _ in range(3):
            layer.power_iteration()
        rng = np.random.default_rng(2)
        x, c = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
        u, v = layer.u.numpy().astype(np.float64), layer.v.numpy().astype(np.float64)

        def f(w):
            return np.sum(c * (x @ (w / (v @ w @ u))))

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(c * layer(x))
        gradient = tape.gradient(loss, layer._kernel).numpy()
        w = layer._kernel.numpy()
        numeric = np.zeros_like(w)
        h = 1e-6
        for index in np.ndindex(w.shape):
            step = np.zeros_like(w)
            step[index] = h
            numeric[index] = (f(w + step) - f(w - step)) / (2 * h)
        self.assertAllClose(gradient, numeric, rtol=1e-6, atol=1e-8)
        # Not the gradient of x W / s with s a constant: d sigma / d W matters.
        self.assertNotAllClose(gradient, x.T @ c / (v @ w @ u))


def spectral_critic(units=8):
    inputs = keras.Input((2,))
    x = SpectralDense(units, activation="relu", name="sn_0")(inputs)
    x = SpectralDense(units, activation="relu", name="sn_1")(x)
    outputs = SpectralDense(1, name="sn_score")(x)
    return keras.Model(inputs, outputs, name="critic")


def generator(units=8):
    inputs = keras.Input((2,))
    x = keras.layers.Dense(units, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(x), name="generator")


class PerUpdateTest(tf.test.TestCase):

    def test_one_power_iteration_per_critic_update_however_often_the_critic_is_called(self):
        # A WGAN-GP critic update calls the critic three times (real, fake,
        # interpolates inside the penalty's tape) and the generator update once
        # more: still one power iteration per critic update, in every mode.
        for mode in ("eager", "graph", "xla"):
            keras.utils.set_random_seed(0)
            model = WGANGP(generator(), spectral_critic(), n_critic=3, seed=0)
            model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                          run_eagerly=mode == "eager", jit_compile=mode == "xla")
            real = tf.random.stateless_normal([2, 3, 16, 2], seed=[1, 2])
            data = tf.data.Dataset.from_tensor_slices(real)
            model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
            layers = spectral_layers(model.critic)
            self.assertLen(layers, 3)
            for layer in layers:
                self.assertEqual(int(layer.power_iterations), 6, msg=f"{mode} {layer.name}")
            # The estimate tracks the raw kernels: one iteration per update on
            # slowly moving weights keeps sigma near the true spectral norm.
            for layer in layers:
                raw = layer._kernel.numpy()
                true = np.linalg.svd(raw, compute_uv=False)[0]
                self.assertBetween(float(layer.sigma()) / true, 0.8, 1.0 + 1e-5, msg=layer.name)

    def test_spectral_norms_lists_every_layer(self):
        keras.utils.set_random_seed(0)
        norms = spectral_norms(spectral_critic())
        self.assertEqual(list(norms), ["sn_0", "sn_1", "sn_score"])


class StateTest(tf.test.TestCase):

    def test_u_and_v_survive_keras_saving_and_a_checkpoint(self):
        keras.utils.set_random_seed(0)
        critic = spectral_critic()
        for layer in spectral_layers(critic):
            for _ in range(4):
                layer.power_iteration()
        x = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
        path = os.path.join(self.get_temp_dir(), "critic.keras")
        critic.save(path)
        loaded = keras.saving.load_model(path)
        self.assertAllClose(loaded(x), critic(x))
        for a, b in zip(spectral_layers(critic), spectral_layers(loaded)):
            self.assertAllEqual(a.u.numpy(), b.u.numpy())
            self.assertAllEqual(a.v.numpy(), b.v.numpy())
            self.assertEqual(int(b.power_iterations), 4)

        prefix = tf.train.Checkpoint(critic=critic).save(os.path.join(self.get_temp_dir(), "c"))
        keras.utils.set_random_seed(5)
        fresh = spectral_critic()
        tf.train.Checkpoint(critic=fresh).restore(prefix).assert_existing_objects_matched()
        for a, b in zip(spectral_layers(critic), spectral_layers(fresh)):
            self.assertAllEqual(a.u.numpy(), b.u.numpy())
            self.assertAllEqual(a.v.numpy(), b.v.numpy())
        self.assertAllClose(fresh(x), critic(x))


class CommandTest(tf.test.TestCase):

    def test_gan_and_wgan_advance_once_per_discriminator_update(self):
        from models import GAN, WGAN

        for model_class, n_critic in ((GAN, 1), (WGAN, 3)):
            keras.utils.set_random_seed(0)
            kwargs = dict(discriminator_steps=n_critic) if model_class is GAN else dict(
                n_critic=n_critic)
            model = model_class(generator(), spectral_critic(), seed=0, **kwargs)
            model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
            real = tf.random.stateless_normal([4, n_critic, 16, 2], seed=[1, 2])
            model.fit(tf.data.Dataset.from_tensor_slices(real), steps_per_epoch=4, epochs=1,
                      verbose=0)
            for layer in spectral_layers(model.critic):
                self.assertEqual(int(layer.power_iterations), 4 * n_critic,
                                 msg=f"{model_class.__name__} {layer.name}")
            if model_class is WGAN:  # clipping leaves u and v alone (not trainable)
                self.assertAllClose(np.linalg.norm(spectral_layers(model.critic)[0].u), 1.0)


class NetworkOptionTest(tf.test.TestCase):

    def test_spectral_critics_have_every_layer_normalised_and_no_batchnorm(self):
        from models.networks import metz_critic, toy_critic
        from train_loops.tasks import image_networks

        keras.utils.set_random_seed(0)
        self.assertLen(spectral_layers(toy_critic(hidden_units=8, spectral=True)), 4)
        self.assertLen(spectral_layers(metz_critic(spectral=True)), 2)
        self.assertEmpty(spectral_layers(toy_critic(hidden_units=8)))
        for bn_free in (False, True):  # GAN / WGAN and WGAN-GP
            _, critic = image_networks("dcgan", (32, 32, 1), 8, 4, bn_free, "spectral")
            kinds = [type(layer).__name__ for layer in critic.layers]
            self.assertEqual(kinds.count("SpectralConv2D"), 3)
            self.assertEqual(kinds.count("SpectralDense"), 1)
            self.assertNotIn("BatchNormalization", kinds)
            self.assertNotIn("Conv2D", kinds)
        with self.assertRaisesRegex(ValueError, "spectral is for the dcgan"):
            image_networks("wgan_gp_mnist", (28, 28, 1), 8, 4, True, "spectral")


class SnganNetworksTest(tf.test.TestCase):

    def test_the_standard_cnn_has_table_3s_shapes(self):
        from models.sngan_networks import sngan_discriminator, sngan_generator

        keras.utils.set_random_seed(0)
        generator = sngan_generator((32, 32, 3))
        self.assertEqual(generator.output_shape, (None, 32, 32, 3))
        self.assertEqual(generator.get_layer("reshape").output.shape[1:], (4, 4, 512))
        self.assertEqual([generator.get_layer(f"deconv_{i}").output.shape[1:]
                          for i in (1, 2, 3)], [(8, 8, 256), (16, 16, 128), (32, 32, 64)])
        self.assertEqual(sngan_generator((48, 48, 1)).get_layer("reshape").output.shape[1:],
                         (6, 6, 512))  # M_g = 6 for STL-10's 48 x 48
        critic = sngan_discriminator((32, 32, 3))
        shapes = [critic.get_layer(f"conv_{i}").output.shape[1:] for i in range(7)]
        self.assertEqual(shapes, [(32, 32, 64), (16, 16, 64), (16, 16, 128), (8, 8, 128),
                                  (8, 8, 256), (4, 4, 256), (4, 4, 512)])
        self.assertLen(spectral_layers(critic), 8)  # every layer, the last included
        self.assertEqual(critic.get_layer("lrelu_0").negative_slope, 0.1)
        self.assertEmpty(spectral_layers(sngan_discriminator((32, 32, 3), spectral=False)))
        with self.assertRaisesRegex(ValueError, "multiple of 8"):
            sngan_generator((28, 28, 1))

    def test_the_sngan_preset_trains_at_32_pixels(self):
        from test_folder_data import make_folder
        from test_train_loops import read_json, run

        images = make_folder(os.path.join(self.get_temp_dir(), "images"), "RGB")
        output_dir = os.path.join(self.get_temp_dir(), "sngan")
        done = run("gan", "--preset=sngan", f"--dataset=folder:{images}", "--iterations=2",
                   "--batch_size=8", "--sample_every=2", f"--output_dir={output_dir}")
        self.assertEqual(done.returncode, 0, done.stderr)
        summary = read_json(os.path.join(output_dir, "summary.json"))
        self.assertEqual((summary["preset"], summary["iterations"]), ("sngan", 2))
        critic = keras.saving.load_model(os.path.join(output_dir, "critic.keras"))
        for layer in spectral_layers(critic):
            self.assertEqual(int(layer.power_iterations), 2)  # n_dis = 1
