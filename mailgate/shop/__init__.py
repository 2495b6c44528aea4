"""The shop's calendar: staff, menus, business hours, holidays, shifts, and the double-booking check.

`times` imports nothing of mailgate, so the config module can validate with its parsers.
"""
