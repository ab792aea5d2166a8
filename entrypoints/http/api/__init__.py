"""The node's HTTP service API: packet batches from connectors, reads, operator actions, health.

`app.create_app` builds the ASGI application; each route module (`routes_*.py`) holds one area
and is listed in `app.ROUTE_MODULES`, so a further area (the claims route) is one more module.
"""
