"""Encoders: text backbones, the event-text cache, the sequence encoder and the user encoder."""
