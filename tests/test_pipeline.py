"""data/pipeline.py: every critic update gets its own real batch, in order."""

import numpy as np
import tensorflow as tf

from data.pipeline import stack_critic_batches
from models import WGAN
from models.networks import toy_critic, toy_generator


def numbered_batches(batch_size=3):
    """Batch i holds the value i everywhere: which batch went where is visible."""
    return tf.data.Dataset.counter().map(
        lambda i: tf.fill([batch_size, 2], tf.cast(i, tf.float32)))


def batch_ids(element):
    return element[:, 0, 0].numpy().astype(int).tolist()


class StackCriticBatchesTest(tf.test.TestCase):

    def test_fixed_count_gives_consecutive_distinct_batches(self):
        stacks = stack_critic_batches(numbered_batches(), lambda g: 5, 5)
        self.assertEqual(stacks.element_spec.shape.as_list(), [5, 3, 2])
        ids = [batch_ids(e) for e in stacks.take(3)]
        self.assertEqual(ids, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14]])

    def test_varying_schedule(self):
        schedule = lambda g: tf.where(g % 2 == 0, tf.constant(3, tf.int64), 1)
        stacks = stack_critic_batches(numbered_batches(), schedule)
        ids = [batch_ids(e) for e in stacks.take(4)]
        self.assertEqual(ids, [[0, 1, 2], [3], [4, 5, 6], [7]])

    def test_wgan_authors_schedule(self):
        model = WGAN(toy_generator(hidden_units=4), toy_critic(hidden_units=4),
                     authors_schedule=True)
        self.assertIsNone(model.fixed_critic_iterations)
        counts = [int(model.critic_iterations(tf.constant(g, tf.int64)))
                  for g in (0, 24, 25, 499, 500, 501, 1000)]
        self.assertEqual(counts, [100, 100, 5, 5, 100, 5, 100])
        stacks = list(model.critic_batches(numbered_batches(1)).take(27))
        sizes = [int(s.shape[0]) for s in stacks]
        self.assertEqual(sizes, [100] * 25 + [5, 5])
        flat = np.concatenate([s[:, 0, 0].numpy() for s in stacks])
        np.testing.assert_array_equal(flat, np.arange(len(flat)))  # none reused or lost

    def test_resume_starts_the_schedule_at_the_given_iteration(self):
        model = WGAN(toy_generator(hidden_units=4), toy_critic(hidden_units=4),
                     authors_schedule=True)
        sizes = [int(s.shape[0]) for s in
                 model.critic_batches(numbered_batches(1), start_iteration=498).take(4)]
        self.assertEqual(sizes, [5, 5, 100, 5])
