"""One writer per snapshot source, all reading the same synth.org.Org."""
