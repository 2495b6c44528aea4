"""Data in and out: the ledger as CSV for a spreadsheet, and CSV files (mailgate's own or another
system's, through a column map) into the ledger."""
