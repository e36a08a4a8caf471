"""Tuning: Optuna studies for heads (``byod tune head``) and pretraining (``tune pretrain``)."""
