"""Discriminators for adversarial feature alignment."""
from .adaptseg_discriminator import AdaptSegDiscriminator

__all__ = ['AdaptSegDiscriminator']
