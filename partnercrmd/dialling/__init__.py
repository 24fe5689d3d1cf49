"""Click-to-dial: every technique (web link, tel: handler, clipboard, screen read, selection) ends here.

text → `detect.find_numbers` → `rules.DiallingRules.apply` → `service.DialService` → an event to the PDC:
`MakeCallRequest` for an explicit click, `DialOffer` for numbers the user has not chosen yet.
"""
