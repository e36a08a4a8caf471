"""byod: bring your own data.

Raw service logs and a few labels in; user embeddings, downstream models and a service out.
"""

__version__ = "0.1.0"
