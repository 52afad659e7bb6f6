"""Input pipelines for the GAN / WGAN / WGAN-GP reproduction."""
