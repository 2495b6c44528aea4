"""One module per group of link pages; each has `routes(...)` giving its Route list."""
