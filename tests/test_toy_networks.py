"""Tests for models.networks: the toy networks of the WGAN-GP authors and of Metz et al."""

import keras
import numpy as np
import tensorflow as tf

from models.networks import metz_critic, metz_generator, toy_critic, toy_generator


class ToyNetworksTest(tf.test.TestCase):

    def test_the_authors_toy_networks(self):
        # gan_toy.py: 2 -> 3 ReLU layers of 512 -> 2 (generator) or 1 (critic).
        generator, critic = toy_generator(hidden_units=512), toy_critic(hidden_units=512)
        hidden = 2 * 512 + 512 + 2 * (512 * 512 + 512)
        self.assertEqual(generator.count_params(), hidden + 512 * 2 + 2)  # 527,874
        self.assertEqual(critic.count_params(), hidden + 512 + 1)
        self.assertEqual([l.activation.__name__ for l in critic.layers[1:]],
                         ["relu", "relu", "relu", "linear"])
        for layer in critic.layers[1:]:
            self.assertAllEqual(layer.bias, np.zeros(layer.bias.shape))
        # He-uniform: the first hidden layer's bound is sqrt(6 / fan_in) = sqrt(3).
        self.assertLessEqual(float(np.max(np.abs(critic.layers[1].kernel))), np.sqrt(3.0))
        self.assertGreater(float(np.max(np.abs(critic.layers[1].kernel))), 0.9 * np.sqrt(3.0))

    def test_metz_networks_are_orthogonal_with_gain_0_8(self):
        keras.utils.set_random_seed(0)
        critic, generator = metz_critic(), metz_generator()
        # A 2 x 128 kernel has orthonormal rows (times 0.8); a 256 x 128 one
        # orthonormal columns; a 128 x 2 one orthonormal columns.
        first = critic.get_layer("relu_0").kernel.numpy()
        self.assertAllClose(first @ first.T, 0.64 * np.eye(2), atol=1e-5)
        for name in ("relu_0", "relu_1", "linear"):
            kernel = generator.get_layer(name).kernel.numpy()
            self.assertAllClose(kernel.T @ kernel, 0.64 * np.eye(kernel.shape[1]), atol=1e-5,
                                msg=name)
        self.assertEqual(generator.input_shape, (None, 256))

    def test_metz_critic_sees_x_over_4(self):
        keras.utils.set_random_seed(1)
        critic = metz_critic()
        x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32) * 3
        hidden, output = critic.get_layer("relu_0"), critic.get_layer("linear")
        expected = (np.maximum(x / 4 @ hidden.kernel.numpy() + hidden.bias.numpy(), 0)
                    @ output.kernel.numpy() + output.bias.numpy())
        self.assertAllClose(critic(x), expected, rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
    tf.test.main()
