"""The catalog: sources, processing rules and delivery targets, compiled into a PipelineSpec."""
