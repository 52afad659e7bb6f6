"""Evaluation metrics for the GAN / WGAN / WGAN-GP reproduction."""
