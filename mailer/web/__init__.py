"""`mailer serve`: the small web application behind the organisation's base URL.

Members reach it from the links in their mail (unsubscribe, RSVP); the board logs in to look
at what is about to go out and approve it. Starlette and uvicorn are imported only here.
"""
