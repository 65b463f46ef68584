"""The portal pages, one module per concern."""
