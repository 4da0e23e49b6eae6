"""The synthetic enterprise generator: a realistic org as a snapshot in the contract
layout, scaled by headcount and deterministic for a seed (see synth.generate)."""
