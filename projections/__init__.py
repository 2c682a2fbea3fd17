"""Read models: one module per projection, each idempotent and checkpointed."""
