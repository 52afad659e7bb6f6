"""Command-line entry points: python -m train_loops.gan | wgan | wgan_gp."""
