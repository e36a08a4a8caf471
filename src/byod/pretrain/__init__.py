"""Contrastive pretraining of the user encoder: pair views, gradient caching, the trainer."""
