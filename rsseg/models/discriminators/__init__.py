"""Discriminators for adversarial feature alignment."""
from .fc_discriminator import FCDiscriminator

__all__ = ['FCDiscriminator']
