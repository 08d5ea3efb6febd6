"""The CLI layer: one module per command group. Commands parse options, call the
core (store and the domain modules), and render. They never write files themselves."""
