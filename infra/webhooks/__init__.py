"""The webhook process: the fan-out runner, the sender loop, their health."""
