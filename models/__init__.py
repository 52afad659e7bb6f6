"""GAN, WGAN and WGAN-GP as Keras models with their own `train_step`."""

from models.base import AdversarialModel
from models.gan import GAN
from models.wgan import WGAN
from models.wgan_gp import WGANGP

__all__ = ["AdversarialModel", "GAN", "WGAN", "WGANGP"]
