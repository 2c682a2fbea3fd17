"""Pure deciders: events, commands, state, decide and evolve. No I/O, no clock, no randomness."""
