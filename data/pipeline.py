"""From an endless stream of real batches to what `AdversarialModel.fit` consumes."""

import tensorflow as tf


def stack_critic_batches(batches, critic_iterations, fixed_critic_iterations=None,
                         start_iteration=0):
    """Stack the real batches of each generator iteration into one element.

    Element g has shape [critic_iterations(g), batch, ...]: one distinct real
    batch per critic update, as Algorithm 1 of both WGAN papers draws a fresh
    real batch for every critic iteration.

    Args:
      batches: endless `tf.data.Dataset` of real batches with a static batch size.
      critic_iterations: function of the (int64) generator iteration giving its
        number of critic updates; used when that number varies.
      fixed_critic_iterations: the number, when it is constant (faster: plain
        `batch`, with a static leading dimension).
      start_iteration: the generator iteration of the first element (for a
        resumed run on a varying schedule).
    """
    if fixed_critic_iterations is not None:
        return batches.batch(fixed_critic_iterations, drop_remainder=True).prefetch(
            tf.data.AUTOTUNE)

    def count(n):
        return tf.cast(critic_iterations(n), tf.int64)

    def label(state, batch):
        # state: (generator iteration, real batches it has taken so far)
        iteration, taken = state
        taken += 1
        done = taken >= count(iteration)
        next_state = (tf.where(done, iteration + 1, iteration),
                      tf.where(done, tf.constant(0, tf.int64), taken))
        return next_state, (iteration, batch)

    start = (tf.constant(start_iteration, tf.int64), tf.constant(0, tf.int64))
    labelled = batches.scan(start, label)
    return labelled.group_by_window(
        key_func=lambda iteration, _: iteration,
        reduce_func=lambda iteration, window: window.map(lambda _, b: b).batch(
            count(iteration)),
        window_size_func=count,
    ).prefetch(tf.data.AUTOTUNE)
