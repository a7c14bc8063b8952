"""The v4 REST API over the ThemisDB adapter, under `/api/v4`."""

from litestar.types import ControllerRouterHandler

ROUTES: list[ControllerRouterHandler] = []
