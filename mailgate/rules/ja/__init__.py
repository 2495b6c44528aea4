"""Read the fields of Japanese vendor notices: pure functions from value lines (blocks.labelled) to values.

Every reader raises FieldError (a ValueError, in `values`) with a short English message when the input
can't be read. The readers: `dates` (when), `booking` (reservation number, menu, duration, staff),
`contact` (the customer's name, reading, email, phone), `inquiry` (customers' own messages). Rules name
them through `parsers.PARSERS`, where every entry has one signature.

jaconv.normalize is never used here: it turns 〜 ～ － into ー, which breaks times and phone numbers.
"""
