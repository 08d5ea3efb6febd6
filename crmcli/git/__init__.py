"""Team use over git, one module per concern: run (running git), setup (merge
driver, .gitattributes, autocommit), autocommit (committing what a command
changed), history (a record's history), undo (the last crm commit), sync.

Commits made by crm carry a trailer `Crm-Command: crm ...`; an undo carries
`Crm-Undo: SHA` too. Plain functions; errors are raised as CrmError, warnings go
to `store.warn`. git itself is run as a subprocess.
"""
