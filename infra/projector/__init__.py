"""The projector: consumer-group runners feeding the projections, and their offsets and health."""
