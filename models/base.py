"""What GAN, WGAN and WGAN-GP share: the loop of Algorithm 1 in every paper.

Each generator iteration runs `n_critic` critic (discriminator) updates, each
on a *fresh* batch of real data, then one generator update. Subclasses say how
a critic update works (`critic_step`) and what the generator minimises
(`generator_loss`); everything else lives here.
"""

import keras
import tensorflow as tf

from data.pipeline import stack_critic_batches
from models import distribute, random
from models.random import LATENT_DISTRIBUTIONS
from models.spectral_normalization import spectral_layers


class AdversarialModel(keras.Model):
    """A generator and a critic trained against each other with `fit`.

    `fit` consumes the dataset returned by `critic_batches`: one element per
    generator iteration, stacking the real batches its critic updates use,
    shape [n_critic, batch, ...]. `train_step` returns that iteration's values
    (what callbacks see per step); the `keras.metrics.Mean` trackers hold their
    running means (what the history records per epoch).

    Randomness (latent codes, interpolation weights) comes from
    `self.seed_generator`, so a seeded model gives the same numbers in eager
    mode, in graph mode and under XLA.

    Mixed precision: networks built under a `mixed_float16` or
    `mixed_bfloat16` dtype policy compute in 16 bits and keep float32
    weights. The model casts the critic's scores to float32, so every loss is
    float32, and `compile` wraps both optimizers in a
    `keras.optimizers.LossScaleOptimizer` for float16 (see `objective` and
    `apply_loss`).

    Distribution: built and compiled under `strategy.scope()`, the model
    trains data-parallel; feed it `distribute_critic_batches` of the strategy.
    Each replica computes its losses as means over its share of the global
    batch and scales them by 1 / replicas, because the optimizers *sum* the
    replicas' gradients: the update is then the gradient of the global-batch
    mean, as on one device. Random draws are the replica's rows of the global
    draw (`models.random`), and assignments outside the optimizers (weight
    clipping, the random state) update every replica's copy
    (`models.distribute.update`).
    """

    metric_names = ("d_loss", "g_loss")
    iterations_per_step = 1  # until `compile` says otherwise

    def __init__(self, generator, critic, n_critic=1, latent_distribution="normal",
                 seed=None, ema_decay=None, **kwargs):
        super().__init__(**kwargs)
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if ema_decay is not None and not 0 < ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}")
        if latent_distribution not in LATENT_DISTRIBUTIONS:
            raise ValueError(f"latent_distribution must be one of "
                             f"{LATENT_DISTRIBUTIONS}, got {latent_distribution!r}")
        self.generator = generator
        self.critic = critic
        self.n_critic = int(n_critic)
        self.latent_distribution = latent_distribution
        self.latent_shape = tuple(generator.input_shape[1:])
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Held as an attribute so that the generator's state is one of the
        # model's variables: a checkpoint of the model then resumes its draws.
        self.random_state = self.seed_generator.state
        self.ema_decay = ema_decay
        self.averaged_generator = None
        if ema_decay is not None:
            # Yazici et al. 2019: an exponential moving average of the
            # generator's weights, beside the generator (not instead of it).
            # An attribute, so checkpoints hold it too.
            self.averaged_generator = keras.models.clone_model(generator)
            self.averaged_generator.set_weights(generator.get_weights())
            self.averaged_generator.trainable = False
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in self.metric_names}
        self.built = True  # both networks arrive built

    def compile(self, generator_optimizer, critic_optimizer, auto_scale_loss=True,
                iterations_per_step=1, **kwargs):
        """As `keras.Model.compile`, with one optimizer per network.

        auto_scale_loss: as in Keras, when the networks compute in float16
        (a `mixed_float16` policy), wrap each optimizer in a
        `keras.optimizers.LossScaleOptimizer` (dynamic loss scaling).
        iterations_per_step: generator iterations per `train_step` call (k).
          With k > 1 each step runs k iterations in one compiled loop and
          returns every metric as a [k] vector, one value per iteration (the
          runner's callbacks write k rows); `critic_batches` then yields
          [k, n_critic, batch, ...]. It saves the per-call cost of `fit`
          (data, callbacks, dispatch), which dominates small models' steps.
          Unlike Keras' `steps_per_execution`, no iteration's metrics are
          lost. Needs a fixed number of critic updates and one device. The
          numbers are the same as with k = 1: the same draws in the same order.
        """
        iterations_per_step = int(iterations_per_step)
        if iterations_per_step < 1:
            raise ValueError(f"iterations_per_step must be at least 1, got {iterations_per_step}")
        if iterations_per_step > 1 and self.fixed_critic_iterations is None:
            raise ValueError("iterations_per_step > 1 needs a fixed number of critic updates "
                             "per generator iteration")
        if iterations_per_step > 1 and tf.distribute.has_strategy():
            raise ValueError("iterations_per_step > 1 does not work under a distribution "
                             "strategy (the replicas synchronise inside the step)")
        self.iterations_per_step = iterations_per_step
        # optimizer=None: the two optimizers below are the only ones.
        super().compile(optimizer=None, **kwargs)
        if auto_scale_loss and self.critic.dtype_policy.compute_dtype == "float16":
            generator_optimizer, critic_optimizer = (
                optimizer if isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(optimizer)
                for optimizer in (generator_optimizer, critic_optimizer))
        self.generator_optimizer = generator_optimizer
        self.critic_optimizer = critic_optimizer
        # Build the slots now: optimizers build lazily on first use, and that
        # first use is inside the critic loop, where no variable may be created.
        generator_optimizer.build(self.generator.trainable_variables)
        critic_optimizer.build(self.critic.trainable_variables)

    def fit(self, *args, shuffle=False, **kwargs):
        # The data is a stream of critic-batch stacks in order; there is
        # nothing for Keras to shuffle (it would only warn).
        return super().fit(*args, shuffle=shuffle, **kwargs)

    @property
    def metrics(self):
        return list(self.trackers.values())

    # --- the schedule and the data it implies -------------------------------

    def critic_iterations(self, generator_iteration):
        """Critic updates before generator update number `generator_iteration` (0-based)."""
        del generator_iteration
        return self.n_critic

    @property
    def fixed_critic_iterations(self):
        """The constant number of critic updates per generator update, or None if it varies."""
        return self.n_critic

    def critic_batches(self, batches, start_iteration=0):
        """Group an endless dataset of real batches into what `fit` consumes.

        [n_critic, batch, ...] per generator iteration, or with
        `iterations_per_step` k > 1, [k, n_critic, batch, ...] per step.
        """
        stacks = stack_critic_batches(
            batches, self.critic_iterations, self.fixed_critic_iterations,
            start_iteration)
        k = self.iterations_per_step
        return stacks if k == 1 else stacks.batch(k, drop_remainder=True)

    # --- sampling -------------------------------------------------------------

    def sample_latent(self, n, seed_generator=None):
        """n latent codes: N(0, 1), or U[-1, 1] as in DCGAN (Radford et al. 2016, Section 4).

        Drawn from `seed_generator` if given, else from the model's own stream,
        the one training draws from.
        """
        shape = tf.concat([[n], self.latent_shape], axis=0)
        stream = self.seed_generator if seed_generator is None else seed_generator
        return random.latent(shape, self.latent_distribution, stream)

    def generate(self, n, training=False, averaged=False, seed_generator=None):
        """n samples from the generator (float32, whatever the networks compute in).

        averaged: from the moving average of its weights (needs `ema_decay`).
        seed_generator: a stream of their own for the latent codes (evaluations
        use one, so that they leave training's draws, and so the run, as they
        are); else the model's.
        """
        generator = self.averaged_generator if averaged else self.generator
        if generator is None:
            raise ValueError("averaged=True needs a model built with ema_decay")
        latent = self.sample_latent(n, seed_generator)
        return tf.cast(generator(latent, training=training), tf.float32)

    def score(self, x, training=True):
        """The critic's scores of `x`, in float32 (the networks may compute in 16 bits)."""
        return tf.cast(self.critic(x, training=training), tf.float32)

    def call(self, latent, training=False):
        return self.generator(latent, training=training)

    # --- one generator iteration ----------------------------------------------

    def train_step(self, real_batches):
        """`iterations_per_step` generator iterations; their metrics (see `compile`)."""
        k = self.iterations_per_step
        if k == 1:
            return distribute.fit_logs(self.generator_iteration(real_batches))
        # A loop, not k unrolled copies: the graph and XLA's compile time stay
        # those of one iteration. gather, since XLA wants a slice's start to
        # be a compile-time constant.
        def body(i, values):
            logs = self.generator_iteration(tf.gather(real_batches, i))
            return i + 1, {name: values[name].write(i, tf.cast(logs[name], tf.float32))
                           for name in values}

        values = {name: tf.TensorArray(tf.float32, size=k) for name in self.metric_names}
        _, values = tf.while_loop(lambda i, _: i < k, body, (tf.constant(0), values))
        return {name: value.stack() for name, value in values.items()}

    def generator_iteration(self, real_batches):
        """Algorithm 1: critic updates on each real batch in turn, then one generator update.

        The values reported for the critic are those of the last critic update
        (as the authors' code logs them).
        """
        critic_updates = real_batches.shape[0]  # None when the schedule varies
        if critic_updates is not None:
            # A fixed number of updates is unrolled. Two measured reasons
            # (benchmarks/): XLA on CPU ran the conv critic inside a while_loop
            # body about 15x slower than unrolled, and under a distribution
            # strategy an optimizer step is a synchronisation point
            # (merge_call), which TF does not allow in a while_loop body.
            logs = self.critic_update(real_batches[0])
            for i in range(1, critic_updates):
                logs = self.critic_update(real_batches[i])
        elif tf.distribute.has_strategy():
            raise ValueError("under a distribution strategy the number of critic "
                             "updates per generator iteration must be fixed")
        else:
            # The WGAN authors' schedule varies the count: Keras traces
            # train_step without AutoGraph, so an explicit while_loop.
            _, logs = tf.while_loop(
                lambda i, _: i < tf.shape(real_batches)[0],
                lambda i, _: (i + 1, self.critic_update(real_batches[i])),
                (tf.constant(1), self.critic_update(real_batches[0])))
        logs = dict(logs, **self.generator_step(tf.shape(real_batches)[1]))
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return logs

    def critic_update(self, real):
        """One critic update: spectral normalization's power iterations, then `critic_step`.

        Each spectrally normalised critic layer advances its estimate of
        sigma(W) once per update (Miyato et al. 2018, Algorithm 1), however
        often the update calls the critic; a critic without such layers
        does nothing more.
        """
        for layer in spectral_layers(self.critic):
            layer.power_iteration()
        return self.critic_step(real)

    def critic_step(self, real):
        """One critic update on the real batch `real`; returns its metrics."""
        raise NotImplementedError

    def generator_loss(self, fake_scores):
        """What the generator minimises, given the critic's scores of its samples."""
        raise NotImplementedError

    def generator_step(self, batch_size):
        """One generator update on a fresh latent batch; the critic is not changed."""
        latent = self.sample_latent(batch_size)
        with tf.GradientTape() as tape:
            fake = self.generator(latent, training=True)
            g_loss = self.generator_loss(self.score(fake))
            objective = self.objective(g_loss, self.generator_optimizer)
        self.apply_loss(tape, objective, self.generator, self.generator_optimizer)
        if self.averaged_generator is not None:
            self.update_average()
        return {"g_loss": g_loss}

    def update_average(self):
        """theta_avg <- beta * theta_avg + (1 - beta) * theta, after each generator update.

        Yazici et al. 2019, Eq. 2 (exponential moving average, beta =
        `ema_decay`). Every weight is averaged, BatchNorm statistics included.
        """
        beta = self.ema_decay
        for average, weight in zip(self.averaged_generator.weights, self.generator.weights):
            distribute.update(average, lambda a, w=weight: beta * a + (1.0 - beta) * tf.cast(
                w, a.dtype))

    @staticmethod
    def loss_scale(optimizer):
        """The current float16 loss scale of `optimizer`, or None when it does not scale."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.dynamic_scale if optimizer.built else optimizer.initial_scale
        return None

    def objective(self, loss, optimizer):
        """What to differentiate, recorded on the tape: `loss`, scaled for replicas and float16.

        Divided by the number of replicas, because the optimizer sums the
        replicas' gradients (their mean is the gradient of the global mean);
        multiplied by the loss scale for float16, which the optimizer divides
        out of the gradients. With neither, `loss` itself.
        """
        count, _ = distribute.replicas()
        if count > 1:
            loss = loss * (1.0 / count)
        if self.loss_scale(optimizer) is not None:
            loss = optimizer.scale_loss(loss)
        return loss

    @classmethod
    def apply_loss(cls, tape, objective, network, optimizer):
        """One optimizer step on `network`'s trainable weights, and on nothing else.

        `objective` is `self.objective(loss, optimizer)`. With loss scaling, the
        optimizer skips a step whose gradients are not finite (and halves its
        scale); the replicas agree on that first, since each sees only its own
        gradients before they are summed. A skipped step still counts in
        `optimizer.iterations`, which numbers the real batches and generator
        iterations consumed (what `--resume` relies on).
        """
        variables = network.trainable_variables
        gradients = tape.gradient(objective, variables)
        if cls.loss_scale(optimizer) is None:
            optimizer.apply_gradients(zip(gradients, variables))
            return
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g))
                                for g in gradients if g is not None])
        finite = distribute.all_replicas_true(finite)
        gradients = [None if g is None else tf.where(finite, g, tf.constant(float("nan"), g.dtype))
                     for g in gradients]
        optimizer.apply_gradients(zip(gradients, variables))
        optimizer.iterations.assign_add(1 - tf.cast(finite, optimizer.iterations.dtype))
