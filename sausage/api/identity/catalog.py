"""Regions, services and endpoints (the catalog's building blocks)."""

from __future__ import annotations

from sausage.api.identity import render, schemas
from sausage.api.identity.crud import Resource, routes
from sausage.services.identity import catalog as svc

__all__ = ["ROUTES"]

REGIONS = Resource(
    path="/v3/regions", member="region", collection="regions", render=render.region,
    get=svc.get_region, list=svc.list_regions, create=svc.create_region,
    update=svc.update_region, delete=svc.delete_region,
    create_body=schemas.RegionBody, update_body=schemas.RegionPatch,
)
SERVICES = Resource(
    path="/v3/services", member="service", collection="services", render=render.service,
    get=svc.get_service, list=svc.list_services, create=svc.create_service,
    update=svc.update_service, delete=svc.delete_service,
    create_body=schemas.ServiceBody, update_body=schemas.ServicePatch,
)
ENDPOINTS = Resource(
    path="/v3/endpoints", member="endpoint", collection="endpoints", render=render.endpoint,
    get=svc.get_endpoint, list=svc.list_endpoints, create=svc.create_endpoint,
    update=svc.update_endpoint, delete=svc.delete_endpoint,
    create_body=schemas.EndpointBody, update_body=schemas.EndpointPatch,
)

ROUTES = [*routes(REGIONS), *routes(SERVICES), *routes(ENDPOINTS)]
