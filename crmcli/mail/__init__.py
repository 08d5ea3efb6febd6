"""E-mail on the timeline: messages read (parse), matched to customers, contacts and
leads and logged as `email` activities (importer), and the threads that wait for an
answer (threads). No Typer or rich here; crmcli/commands/mail.py is the CLI."""
