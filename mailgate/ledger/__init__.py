"""The shop's ledger: customers, bookings, conflicts, inquiries. Commands take typed inputs and
return typed results; each runs in the caller's transaction and writes its audit events and
outgoing mail there, so a change and its consequences commit together or not at all."""
