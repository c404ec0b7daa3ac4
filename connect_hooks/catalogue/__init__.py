"""The sample catalogue: templates, schemas, and the field paths that fill them."""
