"""Figure 3: Vanishing generator gradient (minimax vs -log D vs a WGAN critic)

Paper: Arjovsky & Bottou 2017, "Towards Principled Methods for Training GANs",
Figs. 2 and 3. A DCGAN is trained for a while (1, 10 and 25 epochs in the
paper); then, with the generator held fixed, a discriminator is trained from
scratch for ~4000 steps and the norm of the generator's gradient (with respect
to its weights) is recorded as the discriminator improves.

Claims (checked in <name>.json):
- Fig. 2: with the minimax cost E[log(1 - D(G(z)))] the generator's gradient
  norm decays by orders of magnitude as the discriminator trains. Checked as:
  at every stage, the geometric mean of the last 10% of the measurements is
  below 1e-2 times that of the first 10% (step 0 = the discriminator as
  initialised).
- Fig. 3: with the -log D cost the gradient does not vanish: it grows, and
  gets noisier. Checked as: at every stage last/first >= 0.1 (does not
  vanish), last/first > 1 (grows), and the step-to-step jitter of log10 of
  the norm is larger in the second half of training than in the first
  (noisier).
- The same experiment with a WGAN critic (weight clipping, the remedy of
  Arjovsky, Chintala & Bottou 2017) in place of the discriminator: the
  generator's gradient does not vanish (last/first >= 0.1 at every stage).
Also shown: the discriminator's accuracy on a real and a generated batch
(the paper's Fig. 1 shows it reaching ~100% quickly).

Setting:
- Data: MNIST 28x28 in [-1, 1] (available offline). The paper used 64x64
  LSUN-style DCGANs, which this machine can neither store nor train.
- Generator: `models.image_networks.dcgan_generator` at 28 px (z: 100-d
  U[-1, 1] -> 7x7x128 -> 14x14x64 -> 28x28x1, BatchNorm, ReLU, tanh).
  `--set image_size=64` resizes MNIST to 64 px and uses the paper's 64 px
  networks (4 transposed convolutions, 4 strided ones in the discriminator).
  Discriminator and WGAN critic: `dcgan_discriminator` (the WGAN paper's
  critic is the DCGAN discriminator too). Both networks run in training mode
  (batch statistics in BatchNorm), as in the authors' PyTorch code.
  `--set fresh_discriminator=no_bn` measures with a fresh discriminator
  without BatchNorm (`wgan_gp_dcgan_critic`), the GAN training and the
  critic unchanged.
- GAN training before each stage: the standard GAN with the non-saturating
  generator cost (DCGAN's Adam 2e-4, beta1 0.5; k = 1), held fixed from each
  stage on.
- At each stage: a fresh discriminator (Adam 2e-4, beta1 0.5, the GAN
  cross-entropy) and a fresh WGAN critic (RMSProp 5e-5, every weight clipped
  to [-0.01, 0.01] at the start and after each update, Arjovsky et al. 2017
  Algorithm 1) are
  trained against the same fixed generator on the same real and generated
  batches (one fresh latent batch per step). Every
  `measure_every` steps (and at step 0) the global norm of the gradient of
  each generator cost with respect to all the generator's weights is taken on
  a batch of `batch_size` latent codes of its own (fixed by the seed, stage
  and step, so how often one measures does not change the training): minimax E[log(1 - D(G(z)))],
  -E[log D(G(z))], and the WGAN generator cost -E[f(G(z))].

The paper's scale, with one substitution:
- stages: the generator is frozen after 1, 10 and 25 epochs of MNIST at
  batch 128 (468, 4680 and 11,700 generator iterations), as the paper froze
  its DCGAN after 1, 10 and 25 epochs (of LSUN bedrooms, which this machine
  can neither store nor train at 64 x 64: MNIST is the substitution).
- discriminator_steps: 4000 discriminator (and critic) steps per stage (the
  paper's Figs. 2-3 run to about 4000), measured every 20 steps.
- batch_size 128, DCGAN's.
Measured at this scale (docs/figures.md, commit 1bb25dc, when the measurement
still drew its codes from the training stream): the minimax gradient
falls 83x, 125x and 15x after 1, 10 and 25 epochs, short of the paper's 4-5
orders of magnitude; -log D grows 8-26x, smoother rather than noisier; the
WGAN critic's gradient grows 3-8x. At 64 px (`--set image_size=64`) the first
stage's minimax gradient falls 6.5 orders of magnitude.
An earlier version ran a reduced setting (stages 25, 100, 250; 100 steps per
stage, measured every 5; batch 64) to fit ~12 minutes on shared cores: there
the minimax gradient fell 26x-190x for the first two stages, not orders of
magnitude, and not at all for the third. It is still one command:
  --set stages=25,100,250 --set discriminator_steps=100
  --set batch_size=64 --set measure_every=5
"""

import numpy as np

from figures import common

FULL = dict(
    dataset="mnist",
    image_size=None,  # None: the data's own (28 px); 64: resized, the paper's 4-conv networks
    batch_size=128,  # DCGAN's
    dim=64,
    latent_dim=100,
    stages=(468, 4680, 11700),  # 1, 10 and 25 epochs of MNIST at batch 128 (the paper's epochs)
    discriminator_steps=4000,  # the paper's Figs. 2-3
    measure_every=20,
    learning_rate=2e-4,  # DCGAN's Adam (GAN training and the fresh discriminators)
    beta_1=0.5,
    critic_learning_rate=5e-5,  # the WGAN paper's RMSProp
    clip_value=0.01,
    sample_images=16,
    # None: each stage's fresh discriminator is the DCGAN one (BatchNorm);
    # "no_bn": the same without BatchNorm (a probe of why the minimax gradient
    # does not vanish here; the GAN training and the WGAN critic keep it).
    fresh_discriminator=None,
    run_eagerly=False,  # True: no tf.function tracing (faster for the few steps of --quick)
)
QUICK = dict(FULL, batch_size=8, dim=4, stages=(1, 2), discriminator_steps=4,
             measure_every=2, sample_images=4, run_eagerly=True)

COSTS = ("minimax", "neg_log_d", "wgan")
COST_LABELS = {
    "minimax": r"minimax cost $\mathbb{E}[\log(1 - D(G(z)))]$",
    "neg_log_d": r"$-\log D$ cost $-\mathbb{E}[\log D(G(z))]$",
    "wgan": r"WGAN critic (clipping) cost $-\mathbb{E}[f(G(z))]$",
}
VANISH_RATIO = 1e-2  # minimax: last / first below this
KEEP_RATIO = 1e-1  # -log D and WGAN: last / first at least this


# --- building and training ---------------------------------------------------

def _real_batches(run, seed):
    from data.images import default_manual_dir, image_batches

    return image_batches(run.dataset, run.batch_size, seed, image_size=run.image_size,
                         manual_dir=default_manual_dir(run.dataset))


def _image_shape(run):
    from data.images import image_shape

    return image_shape(run.dataset, run.image_size)


def _generator(run):
    from models import image_networks

    return image_networks.dcgan_generator(_image_shape(run), run.latent_dim, run.dim)


FRESH_DISCRIMINATORS = (None, "no_bn")


def _discriminator(run, kind=None):
    """The DCGAN discriminator; `kind` "no_bn": the same convolutions without BatchNorm."""
    from models import image_networks

    if kind == "no_bn":
        return image_networks.wgan_gp_dcgan_critic(_image_shape(run), run.dim)
    return image_networks.dcgan_discriminator(_image_shape(run), run.dim)


def _adam(run):
    import keras

    return keras.optimizers.Adam(run.learning_rate, beta_1=run.beta_1)


def _build_gan(run):
    import keras

    from models import GAN

    keras.utils.set_random_seed(run.seed)
    model = GAN(_generator(run), _discriminator(run), generator_loss="non_saturating",
                discriminator_steps=1, latent_distribution="uniform", seed=run.seed)
    # XLA made DCGAN conv steps ~14x slower on this CPU.
    model.compile(_adam(run), _adam(run), jit_compile=False, run_eagerly=run.run_eagerly)
    return model


def _gan_state(model):
    """Every variable that a resumed GAN training needs, in a fixed order."""
    return (model.generator.variables + model.critic.variables
            + model.generator_optimizer.variables + model.critic_optimizer.variables
            + [model.seed_generator.state])


def _state_part(variables):
    """Variables' values as a part: {v0000: ..., v0001: ...}, in their order."""
    return {f"v{i:04d}": v.numpy() for i, v in enumerate(variables)}


def _state_values(part):
    """The values `_state_part` stored, in their order (other entries left out)."""
    return [part[key] for key in sorted(part) if key.startswith("v")]


def _assign(variables, values):
    for variable, value in zip(variables, values):
        variable.assign(value)


GAN_SETTINGS = ("dataset", "image_size", "batch_size", "dim", "latent_dim",
                "learning_rate", "beta_1", "run_eagerly")


def _up_to_stage(run, k, settings=None):
    """`cached`'s arguments for a part of stage k: `settings` (default: every
    setting) but `stages`, and the stages up to k. A stage's parts do not
    depend on the stages after it, so `--set stages=468` makes the first
    stage of the full figure."""
    names = tuple(name for name in (settings or run.settings) if name != "stages")
    return dict(settings=names, stages=tuple(run.stages[:k + 1]))


GAN_PIECE = 1000  # generator iterations per resumable part of the GAN training (~15 min here)


def _gan_pieces(stages, piece):
    """(stage, start, end) of each part of the GAN training: each stage's iterations
    cut, from its start, into pieces of at most `piece` generator iterations."""
    pieces, start = [], 0
    for k, target in enumerate(stages):
        while start < target:
            end = min(start + piece, target)
            pieces.append((k, start, end))
            start = end
    return pieces


def _train_gan_stages(run, piece=GAN_PIECE):
    """GAN training up to each stage, in resumable parts of at most `piece` iterations
    (a sitting that ends mid-stage loses one piece at most); the stages' states as lists."""
    stages = list(run.stages)
    if stages != sorted(stages) or stages[0] < 1:
        raise common.UsageError(f"stages must be increasing positive generator iterations, "
                                f"got {run.stages}")
    states, model, previous, cut = [], None, None, False
    progress = run.progress(stages[-1], "GAN training (generator iterations)")
    pieces = _gan_pieces(stages, piece)
    for j, (k, start, end) in enumerate(pieces):

        def train_piece(j=j, start=start, end=end, previous=previous):
            nonlocal model
            if model is None:
                model = _build_gan(run)
                if previous is not None:  # resuming from the piece before
                    _assign(_gan_state(model), previous)
            # Each piece draws its real batches from a seed of its own, so a run
            # resumed at a piece trains as an unbroken one.
            data = model.critic_batches(_real_batches(run, 1000 * run.seed + j))
            model.fit(data, steps_per_epoch=end - start, epochs=1, verbose=0,
                      callbacks=[progress.callback()])
            return _state_part(_gan_state(model))

        # The GAN's parts depend on the GAN's settings only: changing the
        # discriminator's (e.g. --set discriminator_steps=...) reuses them. Until
        # a stage is cut, each is a whole stage, named and kept as before stages
        # were cut (so those parts stay reusable); after, by the iterations it
        # and the pieces before it end at.
        cut = cut or (start, end) != ((stages[k - 1] if k else 0), stages[k])
        if cut:
            ends = tuple(e for _, _, e in pieces[:j + 1])
            key, depends_on = f"gan-stage{k}-to{end}", dict(settings=GAN_SETTINGS, ends=ends)
        else:
            key, depends_on = f"gan-stage{k}", _up_to_stage(run, k, GAN_SETTINGS)
        computed_before = run.parts["computed"]
        part = run.cached(key, train_piece, **depends_on)
        previous = _state_values(part)
        if run.parts["computed"] == computed_before:  # this piece came from disk
            progress.update(end - start, reused=True)
            if model is not None:  # the next piece trains on from the stored state
                _assign(_gan_state(model), previous)
        if end == stages[k]:
            states.append(previous)
    return states


SEGMENT_CHUNKS = 50  # measurements per resumable segment: 1000 steps at the paper's scale


# In the measurement parts' fingerprints: tells them from those made when the
# measurement drew its codes from the training stream (before commit 229744c),
# which a rerun in the same folder must not reuse.
MEASUREMENT_CODES = "per step"


def _measure_stage(run, k, generator_values, segment_chunks=SEGMENT_CHUNKS):
    """Fresh D and WGAN critic trained against the fixed generator; gradient norms over time."""
    import keras
    import tensorflow as tf

    from models import losses, random
    from models.wgan import rmsprop

    generator = _generator(run)
    _assign(generator.variables, generator_values)
    keras.utils.set_random_seed(1000 * run.seed + 100 + k)
    discriminator, critic = _discriminator(run, run.fresh_discriminator), _discriminator(run)
    d_optimizer = _adam(run)
    c_optimizer = rmsprop(run.critic_learning_rate)
    d_optimizer.build(discriminator.trainable_variables)
    c_optimizer.build(critic.trainable_variables)
    seeds = keras.random.SeedGenerator(1000 * run.seed + 200 + k)
    batch, clip = run.batch_size, float(run.clip_value)
    # The critic starts inside the clipping box (the WGAN authors' code clamps
    # before every critic step): the BatchNorm scales start near 1 and the
    # N(0, 0.02) kernels exceed 0.01, so an unclipped step-0 critic would be
    # another network than the one trained.
    for variable in critic.trainable_variables:
        variable.assign(tf.clip_by_value(variable, -clip, clip))

    def latent():
        return random.latent(tf.constant([batch, run.latent_dim]), "uniform", seeds)

    def train_step(real):
        # The discriminator and the critic see the same real and generated batch.
        fake = generator(latent(), training=True)
        with tf.GradientTape() as tape:
            loss = losses.gan_discriminator_loss(discriminator(real, training=True),
                                                 discriminator(fake, training=True))
        variables = discriminator.trainable_variables
        d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        with tf.GradientTape() as tape:
            loss = losses.wasserstein_critic_loss(critic(real, training=True),
                                                  critic(fake, training=True))
        variables = critic.trainable_variables
        c_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for variable in variables:  # Algorithm 1 of the WGAN paper: clip after each update
            variable.assign(tf.clip_by_value(variable, -clip, clip))

    compiled = (lambda f: f) if run.run_eagerly else tf.function(jit_compile=False)

    @compiled
    def train(reals):  # [steps, batch, H, W, C]: one real batch per step
        for i in tf.range(tf.shape(reals)[0]):
            train_step(reals[i])

    def measurement_codes(step):
        # The measurement's own codes, fixed by (seed, stage, step): drawn from the
        # training stream, they would make `measure_every` change the training.
        return random.latent(tf.constant([batch, run.latent_dim]), "uniform",
                             random.derived_stream(run.seed, k, step))

    @compiled
    def measure(real, codes):
        weights = generator.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            fake = generator(codes, training=True)
            fake_logits = discriminator(fake, training=True)
            costs = (losses.gan_minimax_generator_loss(fake_logits),
                     losses.gan_non_saturating_generator_loss(fake_logits),
                     losses.wasserstein_generator_loss(critic(fake, training=True)))
        norms = [tf.linalg.global_norm(tape.gradient(cost, weights)) for cost in costs]
        del tape
        real_logits = discriminator(real, training=True)
        accuracy = 0.5 * (tf.reduce_mean(tf.cast(real_logits > 0, tf.float32))
                          + tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)))
        return tf.stack(norms + [accuracy])

    # Resumable: the steps run in segments of `segment_chunks` measurements, each
    # kept as a part with the state it ends in (both networks, both optimizers,
    # the latent seed), so a sitting that ends mid-stage loses one segment at
    # most. The real batches of a segment are the stream's, skipped to its start:
    # the result does not depend on the segment length.
    every = run.measure_every
    chunks = -(-run.discriminator_steps // every)  # whole chunks of `every` steps
    state = (discriminator.variables + critic.variables + d_optimizer.variables
             + c_optimizer.variables + [seeds.state])
    progress = run.progress(chunks, f"stage {k + 1}/{len(run.stages)}: "
                                    f"D and critic steps (x{every})")
    rows, values = [], None  # values: the state the segment before ended in
    for start in range(0, chunks, segment_chunks):
        stop, computed = min(chunks, start + segment_chunks), []

        def segment(start=start, stop=stop, values=values):
            computed.append(True)
            if values is not None:
                _assign(state, values)
            # A fresh stream, as in a new sitting: a second iterator of the same
            # dataset would reshuffle differently.
            stream = _real_batches(run, 1000 * run.seed + 300 + k).batch(every).skip(start)
            reals, measured = iter(stream), []
            for chunk in range(start, stop):
                real = next(reals)
                if chunk == 0:  # step 0: the networks as initialised
                    measured.append(measure(real[0], measurement_codes(0)))
                train(real)
                # accuracy on the last real batch trained on
                measured.append(measure(real[-1], measurement_codes((chunk + 1) * every)))
                progress.update()
            return dict(rows=np.array([m.numpy() for m in measured]), **_state_part(state))

        part = run.cached(f"measure-stage{k}-chunks{start}", segment, chunks=(start, stop),
                          codes=MEASUREMENT_CODES, **_up_to_stage(run, k))
        if not computed:
            progress.update(stop - start, reused=True)
        rows.append(part["rows"])
        values = _state_values(part)
    rows = np.concatenate(rows)
    samples = generator(random.latent(tf.constant([run.sample_images, run.latent_dim]),
                                      "uniform", keras.random.SeedGenerator(run.seed)),
                        training=True)
    return dict(steps=every * np.arange(chunks + 1), minimax=rows[:, 0], neg_log_d=rows[:, 1],
                wgan=rows[:, 2], accuracy=rows[:, 3], samples=samples.numpy())


def compute(run):
    if run.discriminator_steps < 1 or run.measure_every < 1:
        raise common.UsageError("discriminator_steps and measure_every must be positive")
    if run.fresh_discriminator not in FRESH_DISCRIMINATORS:
        raise common.UsageError(f"fresh_discriminator must be none or no_bn, "
                                f"got {run.fresh_discriminator!r}")
    states = _train_gan_stages(run)
    generator_size = len(_generator(run).variables)
    parts = [run.cached(f"measure-stage{k}",
                        lambda k=k, s=s: _measure_stage(run, k, s[:generator_size]),
                        codes=MEASUREMENT_CODES, **_up_to_stage(run, k))
             for k, s in enumerate(states)]
    data = {key: np.stack([part[key] for part in parts])
            for key in ("minimax", "neg_log_d", "wgan", "accuracy", "samples")}
    data["steps"] = parts[0]["steps"]
    data["stages"] = np.array(run.stages)
    return data


# --- plot and claims ---------------------------------------------------------

def _ends(values):
    """Geometric means of the first and of the last 10% (at least one) of a series."""
    n = max(1, len(values) // 10)
    log = np.log10(np.maximum(values, 1e-30))
    return 10 ** log[:n].mean(), 10 ** log[-n:].mean()


def ratios(data, cost):
    """last / first of each stage's series of gradient norms."""
    return np.array([last / first for first, last in map(_ends, data[cost])])


def jitter(values):
    """Step-to-step jitter of log10 |grad| in the first and the second half: (first, second)."""
    diffs = np.abs(np.diff(np.log10(np.maximum(values, 1e-30))))
    half = len(diffs) // 2
    return diffs[:half].mean(), diffs[half:].mean()


def plot(data, run):
    import matplotlib.pyplot as plt

    from evaluation.plots import image_grid

    stages = data["stages"]
    figure = plt.figure(figsize=(17, 7.5))
    grid = figure.add_gridspec(2, 4, height_ratios=(2.2, 1), hspace=0.35, wspace=0.28)
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(stages)))
    steps = data["steps"]
    for column, cost in enumerate(COSTS):
        ax = figure.add_subplot(grid[0, column])
        for k, stage in enumerate(stages):
            ax.plot(steps, np.maximum(data[cost][k], 1e-30), color=colors[k], lw=1.4,
                    label=f"G after {stage} iterations")
        ax.set_yscale("log")
        ax.set_xlabel("discriminator / critic training steps (G fixed)")
        ax.set_ylabel(r"$\|\nabla_{\theta_G}\, \mathrm{cost}\|$")
        kind = {"minimax": "vanishes (Fig. 2)", "neg_log_d": "grows, noisier (Fig. 3)",
                "wgan": "does not vanish"}[cost]
        ax.set_title(f"{COST_LABELS[cost]}\npaper: {kind}", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    ax = figure.add_subplot(grid[0, 3])
    for k, stage in enumerate(stages):
        ax.plot(steps, data["accuracy"][k], color=colors[k], lw=1.4,
                label=f"G after {stage} iterations")
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("discriminator training steps (G fixed)")
    ax.set_ylabel("accuracy on a real + a generated batch")
    ax.set_title("discriminator accuracy\npaper (Fig. 1): reaches ~100% quickly", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    for k, stage in enumerate(stages[:4]):
        ax = figure.add_subplot(grid[1, k])
        samples = data["samples"][k]
        ax.imshow(image_grid(samples, columns=min(8, len(samples))),
                  cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"fixed G after {stage} generator iterations", fontsize=10)
        ax.axis("off")
    figure.suptitle(
        f"Figure 3: Vanishing generator gradient (Arjovsky & Bottou 2017, Figs. 2-3) - "
        f"DCGAN on {run.dataset}, a fresh discriminator / WGAN critic trained against a "
        f"fixed G", fontsize=12)
    return figure


def claims(data, run):
    minimax, neg_log_d, wgan = (ratios(data, cost) for cost in COSTS)
    noise = np.array([jitter(series) for series in data["neg_log_d"]])
    return {
        f"minimax_gradient_falls_below_{VANISH_RATIO:g}_of_start_every_stage":
            bool(np.all(minimax < VANISH_RATIO)),
        "neg_log_d_gradient_does_not_vanish_every_stage": bool(np.all(neg_log_d >= KEEP_RATIO)),
        "neg_log_d_gradient_grows_every_stage": bool(np.all(neg_log_d > 1.0)),
        "neg_log_d_gradient_noisier_in_second_half_every_stage":
            bool(np.all(noise[:, 1] > noise[:, 0])),
        "wgan_gradient_does_not_vanish_every_stage": bool(np.all(wgan >= KEEP_RATIO)),
        "minimax_gradient_below_neg_log_d_at_end_every_stage":
            bool(np.all(data["minimax"][:, -1] < data["neg_log_d"][:, -1])),
    }


if __name__ == "__main__":
    common.main(__name__)
