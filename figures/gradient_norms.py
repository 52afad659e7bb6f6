"""Figure 5: Gradient norms and weights, clipping vs penalty

Paper: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Fig. 1b.
On the Swiss roll, with a generator and a critic that are 12-layer ReLU MLPs
without BatchNorm, WGAN critics with weight clipping have gradients that
vanish or explode through the layers, while with the gradient penalty they
do not; clipping pushes the critic's weights to the two ends of the clipping
range, the penalty does not.

Claims (checked in <name>.json), with layer 1 the critic's first hidden layer
(next to the input) and layer 12 its last:
- c = 0.001: the gradient norms vanish toward the input layers: the norm at
  layer 1 is at most 1/10 of the norm at layer 12.
- c = 0.1: they explode toward the input: layer 1 at least 10x layer 12.
- gradient penalty: every layer's norm within a factor 10 of every other's.
- c = 0.01: a large fraction (at least half) of the critic's weights sit at
  +-c; under the penalty, fewer than 1% of the weights lie within 1% of the
  largest |weight| (no pile-up at the extremes).

Setting (as the paper and the authors' gan_toy.py where affordable):
- Data: Swiss roll (`data.toy`, the authors' construction), z 2-d N(0, 1).
- Generator and critic: `models.networks.toy_mlp(hidden_layers=12,
  hidden_units=512)`: 12 ReLU layers of 512 units (the authors' toy width),
  He-uniform init, a linear output; no BatchNorm.
- Weight clipping: WGAN (Arjovsky et al. 2017) with RMSProp 5e-5 for both
  networks (TensorFlow 1's, as gan_toy.py runs it: `models.wgan.rmsprop`),
  n_critic = 5, every critic weight clipped to [-c, c] after each update,
  c in {0.1, 0.01, 0.001}.
- Gradient penalty: WGAN-GP with Adam(1e-4, beta1 0.5, beta2 0.9) as in the
  authors' toy code, n_critic = 5, lambda = 10: the paper states that every
  one of its experiments uses lambda = 10; the authors' gan_toy.py uses 0.1
  ("smaller lambda is faster on toy tasks"); --set penalty_weight=0.1
  gives the code's value.
- Measured after training, on `eval_batches` fresh batches of real and
  generated points: the Euclidean norm of the gradient of the critic loss
  E[f(G(z))] - E[f(x)] (the Wasserstein part; the penalty term is left out
  so all four settings measure the same quantity) with respect to each hidden
  layer's output activations (over the whole batch tensor), averaged over the
  batches. Histograms: every critic kernel (weight matrix) entry; biases left
  out.

Reductions (for a time budget of about half an hour on 2 shared CPU cores,
where a 12x512 critic step takes ~0.1-0.4 s and a penalty step ~3x that):
- batch_size 64 (the WGAN paper's m) instead of the authors' toy batch of 256.
- iterations: 500 generator iterations (2500 critic updates) per setting,
  where the authors' toy runs go on for 100000. With RMSProp 5e-5 a weight
  moves at most ~5e-5 per update, and less at first: the authors' TensorFlow
  1 RMSProp starts its mean square at 1, so its steps reach that size only
  after a hundred or more updates. In 2500 updates the c = 0.1 weights can
  reach the bounds from their He-uniform start (+-0.108); in the 500 updates
  of 100 generator iterations (this figure's earlier length, `--set
  iterations=100`) they could not, and the c = 0.1 norms grew only 6x toward
  the input (docs/figures.md, section 5). The c = 0.01 and 0.001 ranges are
  narrower than the initial weights, so their pile-up at +-c is there from
  the first clip on.
Restore the paper's scale with --set batch_size=256 --set iterations=100000
(about two days here).
"""

import numpy as np

from figures import common

FULL = dict(
    dataset="swissroll",
    hidden_layers=12,
    hidden_units=512,
    batch_size=64,
    iterations=500,  # generator iterations per setting (authors' toy code: 100000)
    n_critic=5,
    clip_values=(0.1, 0.01, 0.001),
    clip_learning_rate=5e-5,  # RMSProp, both networks
    gp_learning_rate=1e-4,  # Adam(1e-4, 0.5, 0.9), both networks
    gp_beta_1=0.5,
    gp_beta_2=0.9,
    penalty_weight=10.0,
    histogram_clip_value=0.01,
    eval_batches=8,
    histogram_bins=60,
    jit_compile=True,  # XLA: faster for the toy MLP steps
    run_eagerly=False,  # True: no tracing (faster for the few steps of --quick)
)
QUICK = dict(FULL, hidden_layers=3, hidden_units=16, batch_size=16, iterations=2,
             eval_batches=2, histogram_bins=10, jit_compile=False, run_eagerly=True)

VANISH_FACTOR = 10.0  # first / last layer, c = 0.001: at most 1 / this
EXPLODE_FACTOR = 10.0  # c = 0.1: at least this
GP_SPREAD = 10.0  # max / min across layers under the penalty: at most this
PILE_FRACTION = 0.5  # clipping (histogram c): at least this fraction at +-c
GP_EXTREME_FRACTION = 0.01  # penalty: fewer than this within 1% of max |w|


def setting_names(run):
    return [f"clip_{c:g}" for c in run.clip_values] + ["gp"]


def _kernels(critic):
    return [layer.kernel for layer in critic.layers if hasattr(layer, "kernel")]


def activation_gradient_norms(critic, real, fake):
    """||d(E[f(fake)] - E[f(real)]) / d h_l|| for each hidden layer l of a `toy_mlp` critic."""
    import tensorflow as tf

    hidden = [layer for layer in critic.layers if layer.name.startswith("relu_")]
    with tf.GradientTape() as tape:
        h = tf.concat([real, fake], axis=0)
        activations = []
        for layer in hidden:
            h = layer(h)
            activations.append(h)
        scores = critic.get_layer("linear")(h)
        n = tf.shape(real)[0]
        loss = tf.reduce_mean(scores[n:]) - tf.reduce_mean(scores[:n])
    return tf.stack([tf.norm(g) for g in tape.gradient(loss, activations)])


def train_setting(run, name, clip_value=None):
    """Train one setting; return its per-layer gradient norms and critic weights."""
    import keras
    import tensorflow as tf

    from data.toy import toy_batches
    from models import WGAN, WGANGP, random
    from models.networks import toy_mlp
    from models.wgan import rmsprop

    keras.utils.set_random_seed(run.seed)
    generator = toy_mlp(2, 2, run.hidden_units, run.hidden_layers, name="generator")
    critic = toy_mlp(2, 1, run.hidden_units, run.hidden_layers, name="critic")
    if clip_value is None:
        model = WGANGP(generator, critic, penalty_weight=run.penalty_weight,
                       n_critic=run.n_critic, seed=run.seed)

        def optimizer():
            return keras.optimizers.Adam(run.gp_learning_rate, beta_1=run.gp_beta_1,
                                         beta_2=run.gp_beta_2)
    else:
        model = WGAN(generator, critic, clip_value=clip_value, n_critic=run.n_critic,
                     seed=run.seed)

        def optimizer():
            return rmsprop(run.clip_learning_rate, "tf1")  # gan_toy.py's TensorFlow 1 RMSProp
    model.compile(optimizer(), optimizer(), jit_compile=run.jit_compile and not run.run_eagerly,
                  run_eagerly=run.run_eagerly)
    data = model.critic_batches(toy_batches(run.dataset, run.batch_size, run.seed))
    progress = run.progress(run.iterations, f"{name}: generator iterations")
    model.fit(data, steps_per_epoch=run.iterations, epochs=1, verbose=0,
              callbacks=[progress.callback()])

    def measure(real, fake):
        return activation_gradient_norms(critic, real, fake)

    if not run.run_eagerly:
        measure = tf.function(measure)
    evaluation = iter(toy_batches(run.dataset, run.batch_size, run.seed + 1))
    seeds = keras.random.SeedGenerator(run.seed + 2)
    norms = []
    for _ in range(run.eval_batches):
        fake = generator(random.normal(tf.constant([run.batch_size, 2]), seeds))
        norms.append(measure(next(evaluation), fake).numpy())
    weights = np.concatenate([k.numpy().ravel() for k in _kernels(critic)])
    return dict(norms=np.mean(norms, axis=0), weights=weights)


def at_bound_fraction(weights, clip_value):
    """The fraction of weights at +-c (clipping leaves them exactly at float32(c))."""
    return float(np.mean(np.abs(weights) >= np.float32(clip_value)))


def extreme_fraction(weights):
    """The fraction of weights within 1% of the largest |weight|."""
    top = np.abs(weights).max()
    return float(np.mean(np.abs(weights) >= 0.99 * top))


def compute(run):
    if run.histogram_clip_value not in run.clip_values:
        raise common.UsageError(f"histogram_clip_value must be one of clip_values "
                                f"{run.clip_values}")
    names = setting_names(run)
    clips = list(run.clip_values) + [None]
    data = {"layers": np.arange(1, run.hidden_layers + 1), "clip_values": np.array(run.clip_values)}
    norms, ranges, fractions = [], [], []
    for name, clip in zip(names, clips):
        part = run.cached(name, lambda name=name, clip=clip: train_setting(run, name, clip))
        weights = part["weights"]
        norms.append(part["norms"])
        ranges.append([weights.min(), weights.max()])
        fractions.append(at_bound_fraction(weights, clip) if clip is not None
                         else extreme_fraction(weights))
        if clip == run.histogram_clip_value or clip is None:
            key = "clip" if clip is not None else "gp"
            limit = clip if clip is not None else np.abs(weights).max()
            counts, edges = np.histogram(weights, bins=run.histogram_bins,
                                         range=(-1.02 * limit, 1.02 * limit))
            data[f"{key}_histogram"], data[f"{key}_edges"] = counts, edges
    data["norms"] = np.array(norms)  # [setting, layer]
    data["weight_range"] = np.array(ranges)  # [setting, (min, max)]
    # clipping settings: fraction at +-c; the penalty: fraction within 1% of max |w|
    data["fraction_at_extremes"] = np.array(fractions)
    return data


def plot(data, run):
    import matplotlib.pyplot as plt

    names = setting_names(run)
    figure, axes = plt.subplots(1, 3, figsize=(17, 5), gridspec_kw=dict(width_ratios=(1.3, 1, 1)))
    ax = axes[0]
    styles = {"gp": dict(color="black", marker="s", label=f"gradient penalty (lambda={run.penalty_weight:g})")}
    colors = plt.cm.plasma(np.linspace(0.0, 0.75, len(run.clip_values)))
    for color, c in zip(colors, run.clip_values):
        styles[f"clip_{c:g}"] = dict(color=color, marker="o", label=f"weight clipping c={c:g}")
    for name, norms in zip(names, data["norms"]):
        ax.plot(data["layers"], np.maximum(norms, 1e-38), lw=1.8, **styles[name])
    ax.set_yscale("log")
    ax.set_xlabel("critic layer (1 = next to the input)")
    ax.set_ylabel("norm of d(critic loss) / d(layer activations)")
    ax.set_xticks(data["layers"])
    ax.set_title("gradient norms through the critic\n"
                 "paper: clipping vanishes (small c) or explodes (c=0.1); GP stays level",
                 fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    index = {name: i for i, name in enumerate(names)}
    c = run.histogram_clip_value
    for ax, key, title in (
            (axes[1], "clip", f"weight clipping c={c:g}: "
                              f"{100 * data['fraction_at_extremes'][index[f'clip_{c:g}']]:.0f}% "
                              f"of weights at +-c"),
            (axes[2], "gp", f"gradient penalty: "
                            f"{100 * data['fraction_at_extremes'][index['gp']]:.2f}% of weights "
                            f"within 1% of max |w|")):
        edges, counts = data[f"{key}_edges"], data[f"{key}_histogram"]
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge",
               color="tab:blue" if key == "gp" else "tab:red", alpha=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("critic weight value")
        ax.set_ylabel("count (log scale)")
        ax.set_title(title, fontsize=10)
    figure.suptitle(
        f"Figure 5: Gradient norms and weights, clipping vs penalty (Gulrajani et al. 2017, "
        f"Fig. 1b) - Swiss roll, {run.hidden_layers}-layer ReLU MLPs of "
        f"{run.hidden_units} units, {run.iterations} generator iterations",
        fontsize=12)
    figure.tight_layout()
    return figure


def claims(data, run):
    names = setting_names(run)
    norms = dict(zip(names, data["norms"]))
    fractions = dict(zip(names, data["fraction_at_extremes"]))
    result = {}
    smallest, largest = min(run.clip_values), max(run.clip_values)
    low = norms[f"clip_{smallest:g}"]
    high = norms[f"clip_{largest:g}"]
    result[f"clip_{smallest:g}_norms_vanish_toward_input_{VANISH_FACTOR:g}x"] = bool(
        low[0] * VANISH_FACTOR <= low[-1])
    result[f"clip_{largest:g}_norms_explode_toward_input_{EXPLODE_FACTOR:g}x"] = bool(
        high[0] >= EXPLODE_FACTOR * high[-1])
    gp = norms["gp"]
    result[f"gp_norms_within_{GP_SPREAD:g}x_across_layers"] = bool(
        gp.min() > 0 and gp.max() <= GP_SPREAD * gp.min())
    c = run.histogram_clip_value
    result[f"clip_{c:g}_weights_pile_at_bounds"] = bool(fractions[f"clip_{c:g}"] >= PILE_FRACTION)
    result["gp_weights_do_not_pile_at_extremes"] = bool(fractions["gp"] < GP_EXTREME_FRACTION)
    return result


if __name__ == "__main__":
    common.main(__name__)
