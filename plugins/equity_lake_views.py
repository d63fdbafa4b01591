"""The lake's own pages inside Airflow: the lake-health page and the Data Docs site.

The API server serves them at ``/equity-lake/health/`` and ``/equity-lake/docs/`` (the app
is ``equity_lake_airflow.lake_views``), and the UI's Browse menu lists them as "Lake health"
and "Data Docs", shown inside the UI at ``/plugin/lake-health`` and ``/plugin/data-docs``.
An external view's ``href`` has no leading slash: the UI resolves it against its own base URL,
so the pages are found wherever the API server is mounted.

Airflow loads this module from ``$AIRFLOW_HOME/plugins`` in every process; it imports FastAPI
and nothing of the lake until a page is requested.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from equity_lake_airflow import lake_views

__all__ = ["EquityLakeViewsPlugin"]


class EquityLakeViewsPlugin(AirflowPlugin):
    name = "equity_lake_views"
    fastapi_apps = [
        {"app": lake_views.app, "url_prefix": lake_views.URL_PREFIX, "name": "equity-lake pages"}
    ]
    external_views = [
        {
            "name": "Lake health",
            "href": "equity-lake/health/",
            "destination": "nav",
            "category": "browse",
            "url_route": "lake-health",
        },
        {
            "name": "Data Docs",
            "href": "equity-lake/docs/",
            "destination": "nav",
            "category": "browse",
            "url_route": "data-docs",
        },
    ]
