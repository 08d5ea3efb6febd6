"""Reports: plain functions over lists of records, the settings and `now`,
returning plain dicts (money as Decimals, kept per currency). No Typer, no rich.

One module per report: funnel, forecast, owners, customers, sources, stalled;
`base` holds what they share.
"""
