"""One script per paper figure: `python -m figures.<name>`; `python -m figures` lists them.

Each script trains what its figure needs, then writes into --output_dir
(default runs/figures/): <name>.png, <name>.npz (every array it plotted),
and <name>.json (settings, seed, wall time and the paper's claims as checked
on these numbers). --quick runs a setting small enough for a test.
"""

# (number, module): the papers' comparisons, in the order of the README's gallery.
FIGURES = (
    (0, "gan_game_1d"),
    (1, "em_vs_js"),
    (2, "discriminator_vs_critic"),
    (3, "vanishing_gradients"),
    (4, "critic_surfaces"),
    (5, "gradient_norms"),
    (6, "mode_collapse"),
    (7, "wasserstein_tracks_quality"),
    (8, "architecture_robustness"),
    (9, "quality_vs_time"),
    (10, "critic_overfitting"),
    (11, "lipschitz_constraints"),
)
