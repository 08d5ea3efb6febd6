"""crm: a customer relationship manager for the terminal, kept in plain YAML files."""

__version__ = "0.1.0"
