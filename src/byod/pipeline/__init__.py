"""The chain over tables, as one library call: :func:`run_pipeline` (config, run layout).

``byod demo``, ``byod run``, ``bench/transfer.py`` and, later, the service, the studio and
``byod tune`` call it; the CLI only prints what it says.
"""

from byod.layout import RunLayout
from byod.pipeline.config import EncoderSpec, PipelineConfig, load_pipeline_config
from byod.pipeline.run import PipelineCancelled, PipelineResult, run_pipeline

__all__ = [
    "EncoderSpec",
    "PipelineCancelled",
    "PipelineConfig",
    "PipelineResult",
    "RunLayout",
    "load_pipeline_config",
    "run_pipeline",
]
