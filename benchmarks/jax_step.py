"""The toy GAN, WGAN and WGAN-GP steps written plainly in JAX, for a side-by-side timing.

Issue 13 asks for the best code a peer would write for the toy steps. This is
it: the MLPs as pure functions of a parameter list, `jax.grad` (twice for the
penalty), the optimizers written out, one `jax.jit` call that runs
`fused` generator iterations in a `lax.scan`, and the host reading the last
critic loss once per call (as `fit` brings each step's logs to the host).

The same algorithm, step by step, as `benchmarks.train_step.reference_step`
and the project's models (GAN: Goodfellow et al. 2014 Algorithm 1 with the
model's generator loss, non-saturating or minimax; WGAN: Arjovsky et al.
2017 Algorithm 1; WGAN-GP: Gulrajani et al. 2017 Algorithm 1): n_critic
critic updates, each on a fresh real batch sliced from an in-memory array and
a fresh latent batch, then one generator update. The optimizers are Keras'
Adam and RMSprop (the same update formulas and hyperparameters, read from the
Keras model it mirrors; a learning-rate schedule, the one-sided penalty and
the weight average are not written out, and such a model is refused). The
networks start from the Keras model's weights,
and `check_against_keras` compares losses and gradients with the Keras
model's own loss functions number by number.

JAX is an optional dependency (`pip install -e ".[jax]"`); `require_jax`
says so when it is missing.
"""

import numpy as np

from benchmarks.train_step import CallTimer, rmsprop_start


def require_jax():
    """Import jax, or raise a one-line error saying how to install it."""
    try:
        import jax
    except ImportError as error:
        raise SystemExit("the jax path needs JAX, an optional dependency: "
                         "pip install -e \".[jax]\" (or pip install jax)") from error
    return jax


def keras_params(network):
    """[(kernel, bias), ...] of a toy MLP's Dense layers, as float32 NumPy arrays."""
    return [(layer.kernel.numpy(), layer.bias.numpy())
            for layer in network.layers if getattr(layer, "kernel", None) is not None]


def jax_params(network):
    """The network's [(kernel, bias), ...] as JAX arrays."""
    import jax.numpy as jnp

    return [tuple(map(jnp.asarray, pair)) for pair in keras_params(network)]


def mlp(params, x):
    """ReLU layers, then a linear output: `models.networks.toy_mlp` as a pure function."""
    import jax.numpy as jnp

    for kernel, bias in params[:-1]:
        x = jnp.maximum(x @ kernel + bias, 0.0)
    kernel, bias = params[-1]
    return x @ kernel + bias


def algorithm_of(model):
    """("gan" | "wgan" | "wgan_gp", settings) of a project model; ValueError for what is not here."""
    from models import WGAN, WGANGP

    if model.ema_decay:
        raise ValueError("the JAX step has no weight average (--ema_decay)")
    if isinstance(model, WGANGP):
        if model.one_sided:
            raise ValueError("the JAX step has the two-sided penalty only")
        return "wgan_gp", {"penalty_weight": float(model.penalty_weight)}
    if isinstance(model, WGAN):
        return "wgan", {"clip_value": float(model.clip_value)}
    return "gan", {"generator_loss": model.generator_loss_name}


def critic_loss(algorithm, settings, d_params, real, fake, eps):
    """The critic's loss: GAN Eq. 1 (as softplus), WGAN's -W estimate, WGAN-GP Eq. 3."""
    import jax
    import jax.numpy as jnp

    real_scores, fake_scores = mlp(d_params, real), mlp(d_params, fake)
    if algorithm == "gan":
        return jnp.mean(jax.nn.softplus(-real_scores)) + jnp.mean(jax.nn.softplus(fake_scores))
    loss = jnp.mean(fake_scores) - jnp.mean(real_scores)
    if algorithm == "wgan_gp":
        x_hat = eps * real + (1.0 - eps) * fake
        grads = jax.grad(lambda x: jnp.sum(mlp(d_params, x)))(x_hat)
        norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=1) + 1e-12)
        loss += settings["penalty_weight"] * jnp.mean(jnp.square(norms - 1.0))
    return loss


def generator_loss(algorithm, settings, g_params, d_params, z):
    """The GAN's non-saturating -log D(G(z)) or minimax log(1 - D(G(z))); -E[D(G(z))] (WGANs)."""
    import jax
    import jax.numpy as jnp

    scores = mlp(d_params, mlp(g_params, z))
    if algorithm == "gan":
        if settings["generator_loss"] == "minimax":
            return -jnp.mean(jax.nn.softplus(scores))
        return jnp.mean(jax.nn.softplus(-scores))
    return -jnp.mean(scores)


def optimizer(keras_optimizer):
    """(init, update) of Keras' Adam or RMSprop, written out, with the Keras one's settings."""
    import jax
    import jax.numpy as jnp
    import keras

    cfg = keras_optimizer.get_config()
    if isinstance(cfg["learning_rate"], dict):
        raise ValueError("the JAX step has a constant learning rate only")
    lr = float(keras_optimizer.learning_rate.numpy())
    eps = cfg["epsilon"]
    if isinstance(keras_optimizer, keras.optimizers.Adam):
        b1, b2 = cfg["beta_1"], cfg["beta_2"]

        def init(params):
            zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
            return (zeros, zeros, jnp.zeros((), jnp.float32))

        def update(params, grads, state):
            m, v, t = state
            t = t + 1.0
            alpha = lr * jnp.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
            m = jax.tree_util.tree_map(lambda m, g: m + (g - m) * (1.0 - b1), m, grads)
            v = jax.tree_util.tree_map(lambda v, g: v + (g * g - v) * (1.0 - b2), v, grads)
            params = jax.tree_util.tree_map(lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + eps),
                                            params, m, v)
            return params, (m, v, t)
        return init, update
    if isinstance(keras_optimizer, keras.optimizers.RMSprop):
        rho, start = cfg["rho"], rmsprop_start(keras_optimizer)

        def init(params):
            return jax.tree_util.tree_map(lambda p: jnp.full_like(p, start), params)

        def update(params, grads, v):
            v = jax.tree_util.tree_map(lambda v, g: rho * v + (1.0 - rho) * g * g, v, grads)
            # Keras' RMSprop puts epsilon inside the root (Adam adds it outside).
            params = jax.tree_util.tree_map(lambda p, g, v: p - lr * g / jnp.sqrt(v + eps),
                                            params, grads, v)
            return params, v
        return init, update
    raise ValueError(f"no JAX twin of {type(keras_optimizer).__name__}")


def make_run(model, batch_size, fused, num_batches=16, seed=0):
    """(run, state): run(state, i0) -> (state, critic loss) does `fused` generator iterations.

    One jitted call; the iterations are a `lax.scan`, the critic updates a
    `lax.fori_loop`. The state holds both networks' parameters and optimizer
    slots.
    """
    jax = require_jax()
    import jax.numpy as jnp

    algorithm, settings = algorithm_of(model)
    n_critic = model.n_critic
    latent_dim = model.latent_shape[-1]
    uniform_latent = model.latent_distribution == "uniform"
    data = jnp.asarray(np.random.default_rng(seed).uniform(
        -1.0, 1.0, (num_batches, batch_size, 2)).astype("float32"))
    g_init, g_update = optimizer(model.generator_optimizer)
    d_init, d_update = optimizer(model.critic_optimizer)
    g_params, d_params = jax_params(model.generator), jax_params(model.critic)
    state = (g_params, d_params, g_init(g_params), d_init(d_params))
    key = jax.random.PRNGKey(seed)

    def latent(k):
        if uniform_latent:
            return jax.random.uniform(k, (batch_size, latent_dim), minval=-1.0, maxval=1.0)
        return jax.random.normal(k, (batch_size, latent_dim))

    def iteration(state, i):
        g_params, d_params, g_slots, d_slots = state
        keys = jax.random.split(jax.random.fold_in(key, i), 2 * n_critic + 1)

        def critic_update(j, carry):
            d_params, d_slots, _ = carry
            real = data[(i * n_critic + j) % num_batches]
            fake = mlp(g_params, latent(keys[2 * j]))
            eps = jax.random.uniform(keys[2 * j + 1], (batch_size, 1))
            loss, grads = jax.value_and_grad(
                lambda p: critic_loss(algorithm, settings, p, real, fake, eps))(d_params)
            d_params, d_slots = d_update(d_params, grads, d_slots)
            if algorithm == "wgan":
                c = settings["clip_value"]
                d_params = jax.tree_util.tree_map(lambda p: jnp.clip(p, -c, c), d_params)
            return d_params, d_slots, loss

        d_params, d_slots, d_loss = jax.lax.fori_loop(
            0, n_critic, critic_update, (d_params, d_slots, jnp.zeros((), jnp.float32)))
        z = latent(keys[-1])
        grads = jax.grad(lambda p: generator_loss(algorithm, settings, p, d_params, z))(
            g_params)
        g_params, g_slots = g_update(g_params, grads, g_slots)
        return (g_params, d_params, g_slots, d_slots), d_loss

    @jax.jit
    def run(state, i0):
        state, d_losses = jax.lax.scan(iteration, state, i0 + jnp.arange(fused))
        return state, d_losses[-1]

    return run, state


class JaxTimer(CallTimer):
    """Times the JAX step, `fused` iterations per jitted call (see `CallTimer`)."""

    def __init__(self, model, batch_size, warmup, iterations, fused=10):
        jax = require_jax()
        self.run, self.state = make_run(model, batch_size, fused)
        super().__init__(warmup, iterations, fused)
        self.info.update(jax=jax.__version__, dtype_policy="float32")

    def call(self, counter):
        self.state, d_loss = self.run(self.state, counter)
        return d_loss


# --- the check that this is the same step ------------------------------------------


def check_against_keras(model, batch_size=64, seed=0):
    """Largest relative differences between the JAX and the Keras losses and gradients.

    Same weights (the Keras model's), same z, real batch and eps: the critic's
    loss (with the penalty for WGAN-GP) and its gradient with respect to every
    critic weight, and the generator's loss and its gradients, the Keras side
    computed with `models.losses`, as the models' train steps do.
    """
    require_jax()
    import jax
    import tensorflow as tf

    from models import losses

    algorithm, settings = algorithm_of(model)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(batch_size, model.latent_shape[-1])).astype("float32")
    real = rng.uniform(-1, 1, (batch_size, 2)).astype("float32")
    eps = rng.uniform(size=(batch_size, 1)).astype("float32")
    critic, generator = model.critic, model.generator

    with tf.GradientTape(persistent=True) as tape:
        fake = generator(z)
        fixed = tf.stop_gradient(fake)
        if algorithm == "gan":
            d_loss = losses.gan_discriminator_loss(critic(real), critic(fixed))
            g_loss = model.generator_loss(critic(fake))
        else:
            d_loss = losses.wasserstein_critic_loss(critic(real), critic(fixed))
            if algorithm == "wgan_gp":
                x_hat = losses.interpolate(real, fixed, eps)
                d_loss += settings["penalty_weight"] * losses.gradient_penalty(critic, x_hat)[0]
            g_loss = losses.wasserstein_generator_loss(critic(fake))
    d_grads = [g.numpy() for g in tape.gradient(d_loss, critic.trainable_variables)]
    g_grads = [g.numpy() for g in tape.gradient(g_loss, generator.trainable_variables)]

    g_params, d_params = jax_params(generator), jax_params(critic)
    fake_j = mlp(g_params, z)
    d_loss_j, d_grads_j = jax.value_and_grad(
        lambda p: critic_loss(algorithm, settings, p, real, fake_j, eps))(d_params)
    g_loss_j, g_grads_j = jax.value_and_grad(
        lambda p: generator_loss(algorithm, settings, p, d_params, z))(g_params)

    def relative(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))

    def flat(grads):  # Keras lists kernel, bias per layer, as the parameter list does
        return [np.asarray(g) for pair in grads for g in pair]

    return {"algorithm": algorithm,
            "critic_loss": relative(d_loss_j, d_loss.numpy()),
            "generator_loss": relative(g_loss_j, g_loss.numpy()),
            "critic_gradients": max(relative(a, b) for a, b in zip(flat(d_grads_j), d_grads)),
            "generator_gradients": max(relative(a, b)
                                       for a, b in zip(flat(g_grads_j), g_grads)),
            "values": {"critic_loss_keras": float(d_loss), "critic_loss_jax": float(d_loss_j),
                       "generator_loss_keras": float(g_loss),
                       "generator_loss_jax": float(g_loss_j)},
            "settings": {"batch_size": batch_size, "seed": seed}}
