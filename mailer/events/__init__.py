"""Events with places: who gets a place, the waiting list and its offers, guests, and what each
registrant is told.

Above `state/` (registrations, waiting list, check-ins) and `delivery/` (notices), below
`web/` (the form at `/p/`, the board's list) and `cli/` (`mailer event …`): a route or a
command only calls `actions`, and the rules of who gets a freed place are in `places`.
"""
