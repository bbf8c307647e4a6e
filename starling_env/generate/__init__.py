"""The generator: seed ideas -> candidate GameSpecs (offline or with an LLM) -> verified games."""
