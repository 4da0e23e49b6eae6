"""api: the GraphQL schema (Strawberry), the FastAPI app and the CLI."""
