"""The console's pages, one module per subject; `routes.add_routes` registers them all."""
