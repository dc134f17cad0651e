"""The HTTP layer: parse, validate, call a service, render. Nothing here decides policy or
touches a host; ``app.py`` assembles one ASGI app serving every OpenStack API of the cloud."""
