"""burnpath engine: the graph model, the stores and the analyses."""
