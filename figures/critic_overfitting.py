"""Figure 10: Critic overfitting

Paper: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
Fig. 5b (left panel, gradient penalty): "WGAN training and validation losses
on a random 1000-digit subset of MNIST show overfitting ... with our method,
the critic overfits faster than the generator, causing the training loss to
increase gradually over time even as the validation loss drops."

Claim checked: the critic overfits its 1000 training digits. Its negative
loss E f(x) - E f(G(z)) is larger on the training digits than on held-out
digits, and the gap (train - validation) grows as training goes on. We also
check the paper's exact wording (training curve rises, validation curve
falls) separately.

Setting: WGAN-GP with the authors' MNIST models (gan_mnist.py;
`models.image_networks.wgan_gp_mnist_generator` / `_critic`, z 128-d
N(0, 1)) and the `wgan_gp_mnist` preset: batch 50, Adam(1e-4, 0.5, 0.9),
lambda 10, n_critic 5. The training data is the first 1000 images of the
MNIST training split (the paper takes a random 1000; the first 1000 of tfds'
stored order is a fixed, seed-free subset), reshuffled every pass with the
figure's seed. The validation data is the first 1000 images of the test
split. Every `eval_every` generator iterations the critic scores all 1000
training and all 1000 validation digits, and the same 1000 generated images
(fixed latent codes, drawn once from seed + 1), so the two curves differ
only in their real images. The curve plotted is the negative critic loss
without the penalty, E f(x) - E f(G(z)). The penalty term (lambda *
E(||grad f(x_hat)|| - 1)^2 on interpolates with fixed eps, one per image
pair) is computed too and drawn dashed as the negative of the full loss,
which is what the authors' code logs as its "dev disc cost". Numbers are
raw (no smoothing).

Smaller than the paper, to fit this figure's ~15 minutes on 2 shared CPU
cores (where the dim-64 step ran at ~0.4 generator iterations per second):
the networks are half as wide (dim 32, the authors' DIM is 64) and training
stops after 1000 generator iterations (5000 critic updates, 250 passes over
the 1000 digits), where the authors' gan_mnist.py runs 200,000. The critic
still sees every training digit hundreds of times, which is what
overfitting needs. `--set dim=64 --set iterations=200000` restores the
authors' setting. Measured: 28 minutes wall (1665 s of compute) on the two
cores shared with other jobs (load average about 24).
"""

import os

import numpy as np

from figures import common

FULL = dict(
    dataset="mnist",
    train_images=1000,       # the paper's subset size
    validation_images=1000,  # held-out digits (test split)
    fake_images=1000,        # generated images scored with both
    iterations=1000,         # generator iterations (authors' code: 200000)
    eval_every=50,           # generator iterations between evaluations
    segment=250,             # generator iterations per resumable part
    dim=32,                  # gan_mnist.py's DIM is 64
    latent_dim=128,
    batch_size=50,           # gan_mnist.py's BATCH_SIZE
    n_critic=5,
    penalty_weight=10.0,
    learning_rate=1e-4,
    beta_1=0.5,
    beta_2=0.9,
    jit_compile=False,       # conv steps ran slower under XLA on these CPUs
    run_eagerly=False,       # quick mode: a few steps cost less than tracing them
)
QUICK = dict(FULL, train_images=16, validation_images=16, fake_images=16, iterations=2,
             eval_every=1, segment=1, dim=4, latent_dim=8, batch_size=8, n_critic=1,
             run_eagerly=True)


# --- the evaluation ---------------------------------------------------------------


def critic_terms(critic, real, fake, epsilon, penalty_weight, batch_size=500):
    """(E f(real) - E f(fake), lambda * E(||grad f(x_hat)|| - 1)^2) over whole sets.

    `real` and `fake` have the same length; x_hat = eps * real + (1 - eps) * fake
    pairs them in order with the given eps [N, 1, 1, 1]. Evaluated in batches of
    `batch_size` (means of batch means weighted by batch size: exact means).
    """
    import tensorflow as tf

    from models import losses

    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    epsilon = np.asarray(epsilon, np.float32)
    n = len(real)
    if len(fake) != n or len(epsilon) != n:
        raise ValueError(f"real, fake and epsilon must have the same length, got "
                         f"{len(real)}, {len(fake)}, {len(epsilon)}")
    wasserstein, penalty = 0.0, 0.0
    for start in range(0, n, batch_size):
        r, f, e = (tf.constant(a[start:start + batch_size]) for a in (real, fake, epsilon))
        size = int(r.shape[0])
        scores_real = critic(r, training=False)
        scores_fake = critic(f, training=False)
        wasserstein += size * float(tf.reduce_mean(scores_real) - tf.reduce_mean(scores_fake))
        p, _ = losses.gradient_penalty(critic, losses.interpolate(r, f, e))
        penalty += size * float(p)
    return wasserstein / n, penalty_weight * penalty / n


def load_subsets(run):
    """(training digits, validation digits) as float32 [N, 28, 28, 1] in [-1, 1]."""
    from data.images import default_manual_dir
    from evaluation.classifier import load_arrays

    manual_dir = default_manual_dir(run.dataset)
    train, _ = load_arrays(run.dataset, "train", manual_dir=manual_dir, limit=run.train_images)
    validation, _ = load_arrays(run.dataset, "test", manual_dir=manual_dir,
                                limit=run.validation_images)
    return train, validation


def build_model(run):
    """The WGAN-GP model of the wgan_gp_mnist preset, seeded and compiled."""
    import keras

    from models import WGANGP
    from models.image_networks import wgan_gp_mnist_critic, wgan_gp_mnist_generator

    keras.utils.set_random_seed(run.seed)
    model = WGANGP(wgan_gp_mnist_generator(run.latent_dim, run.dim),
                   wgan_gp_mnist_critic(run.dim), penalty_weight=run.penalty_weight,
                   n_critic=run.n_critic, seed=run.seed)

    def adam():
        return keras.optimizers.Adam(run.learning_rate, beta_1=run.beta_1, beta_2=run.beta_2)

    model.compile(adam(), adam(), jit_compile=bool(run.jit_compile) and not run.run_eagerly,
                  run_eagerly=bool(run.run_eagerly))
    return model


def real_stream(train, batch_size, seed):
    """Endless seeded reshuffled batches of the training subset (drop the incomplete one)."""
    import tensorflow as tf

    if len(train) < batch_size:
        raise ValueError(f"{len(train)} training images, fewer than batch_size={batch_size}")
    return (tf.data.Dataset.from_tensor_slices(train)
            .shuffle(len(train), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size, drop_remainder=True).repeat())


class Evaluation:
    """Every `every` generator iterations: the critic's terms on train and validation."""

    def __init__(self, model, train, validation, fake_images, penalty_weight, seed):
        import keras

        from models import random

        n = min(len(train), len(validation), fake_images)
        self.model, self.penalty_weight = model, penalty_weight
        self.train, self.validation = train[:n], validation[:n]
        # Their own seed: evaluating does not change the training's random draws.
        seeds = keras.random.SeedGenerator(seed + 1)
        self.latent = random.latent((n,) + model.latent_shape, model.latent_distribution, seeds)
        self.epsilon = random.uniform((n, 1, 1, 1), seeds).numpy()

    def __call__(self, iteration):
        fake = self.model.generator(self.latent, training=False).numpy()
        row = [iteration]
        for real in (self.train, self.validation):
            row += critic_terms(self.model.critic, real, fake, self.epsilon,
                                self.penalty_weight)
        return row  # iteration, w_train, penalty_train, w_validation, penalty_validation


def train_and_evaluate(run):
    """Train in resumable segments; returns the evaluation rows as one array [E, 5]."""
    import keras
    import tensorflow as tf

    train, validation = load_subsets(run)
    model = build_model(run)
    evaluation = Evaluation(model, train, validation, run.fake_images, run.penalty_weight,
                            run.seed)
    checkpoint = tf.train.Checkpoint(model=model, generator_optimizer=model.generator_optimizer,
                                     critic_optimizer=model.critic_optimizer)
    tag = common.fingerprint([run.settings, run.seed])
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(run.parts_dir, f"checkpoints-{tag}"), max_to_keep=2)

    class Evaluate(keras.callbacks.Callback):
        def __init__(self, start):
            super().__init__()
            self.start, self.rows = start, []

        def on_train_batch_end(self, batch, logs=None):
            iteration = self.start + batch + 1
            if iteration % run.eval_every == 0:
                self.rows.append(evaluation(iteration))
                progress.update()

    progress = run.progress(run.iterations // run.eval_every, "critic_overfitting: training")
    rows = [evaluation(0)]  # before training
    state = [0]  # the generator iteration the model is at

    for start in range(0, run.iterations, run.segment):
        steps = min(run.segment, run.iterations - start)

        def segment():
            if state[0] != start:  # resumed: continue from the previous segment's end
                path = os.path.join(manager.directory, f"ckpt-{start}")
                checkpoint.restore(path).assert_existing_objects_matched()
            real = real_stream(train, run.batch_size, run.seed).skip(
                int(model.critic_optimizer.iterations))
            callback = Evaluate(start)
            model.fit(model.critic_batches(real, start), steps_per_epoch=steps, epochs=1,
                      verbose=0, callbacks=[callback])
            manager.save(checkpoint_number=start + steps)
            state[0] = start + steps
            return {"rows": np.array(callback.rows, np.float64).reshape(-1, 5)}

        part = run.cached(f"segment-{start}", segment)
        if state[0] != start + steps:  # taken from the cache: no training happened here
            progress.update(len(part["rows"]), reused=True)
        rows.extend(part["rows"].tolist())
    return np.array(rows, np.float64)


def compute(run):
    rows = run.cached("evaluation", lambda: {"rows": train_and_evaluate(run)})["rows"]
    return {"iteration": rows[:, 0],
            "train_negative_loss": rows[:, 1], "train_penalty": rows[:, 2],
            "validation_negative_loss": rows[:, 3], "validation_penalty": rows[:, 4]}


# --- plot and claims ------------------------------------------------------------------


def early_late(values):
    """Means over the first and last fifth of the evaluations after iteration 0."""
    values = np.asarray(values)[1:]
    k = max(1, len(values) // 5)
    return float(np.mean(values[:k])), float(np.mean(values[-k:]))


def gap(data):
    return data["train_negative_loss"] - data["validation_negative_loss"]


def plot(data, run):
    import matplotlib.pyplot as plt

    it = data["iteration"]
    fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(12, 4.5))
    for split, color in (("train", "tab:blue"), ("validation", "tab:orange")):
        label = (f"{split} ({run.train_images} training digits)" if split == "train"
                 else f"{split} ({run.validation_images} held-out test digits)")
        ax.plot(it, data[f"{split}_negative_loss"], color=color, label=label)
        ax.plot(it, data[f"{split}_negative_loss"] - data[f"{split}_penalty"], color=color,
                linestyle="--", linewidth=0.8, label=f"{split}, including the penalty")
    ax.set_xlabel("generator iterations")
    ax.set_ylabel("negative critic loss  E f(x) - E f(G(z))")
    ax.set_title("Negative critic loss on training vs validation digits")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax_gap.plot(it, gap(data), color="tab:red")
    ax_gap.axhline(0.0, color="black", linewidth=0.8)
    ax_gap.set_xlabel("generator iterations")
    ax_gap.set_ylabel("train - validation")
    ax_gap.set_title("Generalisation gap of the critic (without the penalty)")
    ax_gap.grid(alpha=0.3)
    fig.suptitle(f"Figure 10: Critic overfitting (WGAN-GP, authors' MNIST models, "
                 f"{run.train_images}-digit MNIST subset; cf. Gulrajani et al. Fig. 5b)")
    fig.tight_layout()
    return fig


def claims(data, run):
    gap_early, gap_late = early_late(gap(data))
    train_early, train_late = early_late(data["train_negative_loss"])
    validation_early, validation_late = early_late(data["validation_negative_loss"])
    return {
        "gap_grows (train - validation, last fifth > first fifth)": gap_late > gap_early,
        "gap_positive_at_end (train > validation, last fifth)": gap_late > 0.0,
        "training_curve_rises (last fifth > first fifth)": train_late > train_early,
        "validation_curve_falls (last fifth < first fifth)": validation_late < validation_early,
    }


if __name__ == "__main__":
    common.main(__name__)
